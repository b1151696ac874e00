//! The rules classifier for Chinese and English free text: sentiment (with negation,
//! intensifiers and contrast), topics and severity.
//!
//! Chinese is segmented with jieba (the dictionary is loaded once, into a shared static);
//! English is lowercased with its contractions expanded ("didn't" → "did not"). Each token
//! is then looked up in the lexicons below; a token the lexicons do not know is split by
//! longest match over them (jieba may keep "非常满意" or "不耐烦" as one word). Sentiment words
//! add their weight; a negator ("不", "没有", "not", "never") within the three preceding
//! tokens of the same clause flips it (a negated negative counts as half a positive); an
//! intensifier ("非常", "very") multiplies it, a diminisher ("有点", "a bit") halves it; what
//! comes before a contrast ("但是", "but") counts half. The sum `s` becomes a score in
//! (-1, 1) as `s / (|s| + 1)`.
//!
//! Why rules and not a model: no maintained Rust crate ships a Chinese/English sentiment
//! model, and nothing may download at run time; the rules are explainable (`matched_terms`)
//! and evaluated against the labelled set in `tests/data/labelled_feedback.tsv`.

use std::collections::HashMap;
use std::sync::LazyLock;

use jieba_rs::Jieba;

use super::values::{Sentiment, Severity, Topic};

/// The version recorded with every rules classification.
pub const CLASSIFIER_VERSION: &str = "rules-zh-en-1";

/// The jieba segmenter with its bundled dictionary, loaded once per process.
static JIEBA: LazyLock<Jieba> = LazyLock::new(|| {
    let mut jieba = Jieba::new();
    for word in CUSTOM_WORDS {
        jieba.add_word(word, Some(20_000), None);
    }
    jieba
});

/// Words jieba should keep whole because the lexicons know them.
const CUSTOM_WORDS: &[&str] = &[
    "不耐烦",
    "态度差",
    "很晚",
    "太慢",
    "不专业",
    "没人管",
    "没人理",
    "修不好",
    "不靠谱",
    "很耐心",
    "上门",
    "退款",
    "扣费",
    "多收",
    "乱收费",
    "发票",
    "漏水",
    "保修卡",
    "说好",
    "异响",
    "死机",
    "黑屏",
    "好评",
    "差评",
];

/// Sentiment words and their weights (positive good, negative bad).
const SENTIMENT: &[(&str, f64)] = &[
    // Chinese, positive
    ("满意", 1.0),
    ("好", 0.6),
    ("很好", 0.9),
    ("不错", 0.8),
    ("挺好", 0.8),
    ("棒", 1.0),
    ("赞", 1.0),
    ("专业", 0.8),
    ("耐心", 0.8),
    ("很耐心", 1.0),
    ("热情", 0.8),
    ("及时", 0.7),
    ("迅速", 0.8),
    ("快", 0.5),
    ("准时", 0.7),
    ("感谢", 0.8),
    ("谢谢", 0.7),
    ("辛苦", 0.5),
    ("周到", 0.8),
    ("细心", 0.8),
    ("认真", 0.7),
    ("负责", 0.7),
    ("推荐", 0.7),
    ("好用", 0.8),
    ("喜欢", 0.8),
    ("放心", 0.7),
    ("完美", 1.0),
    ("优秀", 1.0),
    ("给力", 0.9),
    ("好评", 1.0),
    ("解决", 0.6),
    ("修好", 0.8),
    ("顺利", 0.7),
    ("礼貌", 0.7),
    ("高效", 0.8),
    ("贴心", 0.9),
    ("方便", 0.6),
    ("清楚", 0.4),
    ("靠谱", 0.8),
    ("友好", 0.7),
    ("舒服", 0.6),
    ("值得", 0.6),
    ("可以", 0.3),
    ("正常", 0.4),
    ("好看", 0.6),
    ("稳定", 0.5),
    ("省心", 0.8),
    ("点赞", 1.0),
    ("开心", 0.8),
    ("惊喜", 0.9),
    // Chinese, negative
    ("差", -0.9),
    ("不好", -0.8),
    ("慢", -0.6),
    ("太慢", -0.9),
    ("晚", -0.5),
    ("很晚", -0.7),
    ("失望", -1.0),
    ("投诉", -0.8),
    ("垃圾", -1.2),
    ("坑", -0.9),
    ("烂", -1.0),
    ("坏", -0.7),
    ("坏了", -0.8),
    ("故障", -0.6),
    ("漏水", -0.7),
    ("异响", -0.6),
    ("死机", -0.7),
    ("黑屏", -0.6),
    ("敷衍", -1.0),
    ("糟糕", -1.0),
    ("生气", -1.0),
    ("愤怒", -1.2),
    ("气愤", -1.1),
    ("恶劣", -1.2),
    ("不耐烦", -1.0),
    ("态度差", -1.1),
    ("推诿", -1.0),
    ("推脱", -0.9),
    ("踢皮球", -1.0),
    ("骗", -1.1),
    ("欺骗", -1.2),
    ("忽悠", -1.0),
    ("麻烦", -0.5),
    ("折腾", -0.8),
    ("拖", -0.7),
    ("拖延", -0.9),
    ("无法", -0.6),
    ("不能", -0.5),
    ("问题", -0.3),
    ("毛病", -0.6),
    ("退货", -0.4),
    ("差评", -1.2),
    ("后悔", -1.0),
    ("无语", -0.9),
    ("崩溃", -1.0),
    ("难用", -0.9),
    ("复杂", -0.5),
    ("贵", -0.6),
    ("乱收费", -1.1),
    ("多收", -0.9),
    ("扣费", -0.4),
    ("不专业", -1.0),
    ("不靠谱", -1.0),
    ("没人管", -1.1),
    ("没人理", -1.1),
    ("没人", -0.7),
    ("修不好", -1.0),
    ("粗鲁", -1.1),
    ("态度恶劣", -1.3),
    ("不满", -1.0),
    ("不满意", -1.0),
    ("噪音", -0.6),
    ("破损", -0.8),
    ("损坏", -0.8),
    ("裂", -0.7),
    ("严重", -0.6),
    ("危险", -0.8),
    ("着火", -1.2),
    ("冒烟", -1.0),
    ("爆炸", -1.2),
    ("受伤", -1.2),
    ("烫伤", -1.2),
    ("触电", -1.2),
    ("等", -0.2),
    ("一直", -0.2),
    ("再次", -0.3),
    ("又", -0.3),
    ("卡住", -0.7),
    ("卡顿", -0.7),
    ("难", -0.5),
    ("错误", -0.6),
    ("失败", -0.8),
    ("丢", -0.7),
    ("少", -0.3),
    ("不合理", -1.0),
    ("不行", -0.8),
    ("不管", -0.9),
    ("没消息", -0.8),
    ("没来", -0.8),
    ("不会用", -0.6),
    ("错", -0.6),
    ("排队", -0.5),
    ("低", -0.5),
    ("高", 0.4),
    ("实惠", 0.8),
    ("一般", -0.1),
    ("差不多", 0.0),
    ("好的", 0.1),
    ("好了", 0.1),
    ("说好", 0.0),
    // expected service actions: neutral alone, negative when they did not happen ("没有回复")
    ("回复", 0.5),
    ("联系", 0.4),
    ("到账", 0.5),
    ("通知", 0.4),
    ("更新", 0.3),
    // English, positive
    ("good", 0.6),
    ("great", 0.9),
    ("excellent", 1.0),
    ("amazing", 1.0),
    ("awesome", 1.0),
    ("fantastic", 1.0),
    ("perfect", 1.0),
    ("wonderful", 1.0),
    ("nice", 0.6),
    ("helpful", 0.8),
    ("friendly", 0.8),
    ("polite", 0.7),
    ("patient", 0.8),
    ("professional", 0.8),
    ("quick", 0.6),
    ("quickly", 0.6),
    ("fast", 0.6),
    ("prompt", 0.7),
    ("promptly", 0.7),
    ("efficient", 0.8),
    ("satisfied", 1.0),
    ("happy", 0.9),
    ("pleased", 0.9),
    ("glad", 0.7),
    ("love", 1.0),
    ("loved", 1.0),
    ("thanks", 0.6),
    ("thank", 0.6),
    ("appreciate", 0.8),
    ("appreciated", 0.8),
    ("recommend", 0.8),
    ("resolved", 0.6),
    ("solved", 0.6),
    ("fixed", 0.6),
    ("smooth", 0.7),
    ("easy", 0.6),
    ("works", 0.5),
    ("work", 0.4),
    ("working", 0.4),
    ("reliable", 0.7),
    ("courteous", 0.8),
    ("knowledgeable", 0.8),
    ("best", 0.9),
    ("impressed", 0.9),
    ("outstanding", 1.0),
    ("superb", 1.0),
    ("kind", 0.7),
    ("clear", 0.4),
    ("well", 0.4),
    ("fine", 0.4),
    ("ok", 0.2),
    ("okay", 0.2),
    ("on-time", 0.6),
    ("punctual", 0.7),
    ("sorted", 0.6),
    ("brilliant", 1.0),
    ("lovely", 0.9),
    ("seamless", 0.8),
    // English, negative
    ("bad", -0.8),
    ("terrible", -1.1),
    ("awful", -1.1),
    ("horrible", -1.1),
    ("worst", -1.3),
    ("poor", -0.8),
    ("slow", -0.6),
    ("late", -0.6),
    ("rude", -1.1),
    ("broken", -0.8),
    ("broke", -0.8),
    ("disappointed", -1.0),
    ("disappointing", -1.0),
    ("angry", -1.0),
    ("furious", -1.3),
    ("useless", -1.1),
    ("unacceptable", -1.2),
    ("waste", -0.9),
    ("wasted", -0.9),
    ("never", -0.3),
    ("problem", -0.3),
    ("problems", -0.4),
    ("issue", -0.3),
    ("issues", -0.4),
    ("faulty", -0.9),
    ("defective", -1.0),
    ("leak", -0.7),
    ("leaking", -0.7),
    ("leaks", -0.7),
    ("noisy", -0.6),
    ("noise", -0.5),
    ("crack", -0.6),
    ("cracked", -0.7),
    ("complain", -0.7),
    ("complaint", -0.7),
    ("overcharged", -1.0),
    ("scam", -1.2),
    ("ignored", -1.0),
    ("unhelpful", -1.0),
    ("dismissive", -1.0),
    ("incompetent", -1.1),
    ("annoyed", -0.9),
    ("frustrated", -1.0),
    ("frustrating", -1.0),
    ("ridiculous", -1.0),
    ("hours", -0.2),
    ("days", -0.2),
    ("weeks", -0.4),
    ("forever", -0.8),
    ("again", -0.2),
    ("still", -0.3),
    ("fail", -0.8),
    ("failed", -0.8),
    ("fails", -0.8),
    ("error", -0.6),
    ("damaged", -0.9),
    ("missing", -0.7),
    ("lost", -0.7),
    ("wrong", -0.7),
    ("hard", -0.4),
    ("difficult", -0.6),
    ("confusing", -0.7),
    ("expensive", -0.6),
    ("fire", -1.2),
    ("smoke", -1.0),
    ("sparks", -1.1),
    ("dangerous", -1.0),
    ("injured", -1.2),
    ("burned", -1.1),
    ("burnt", -1.1),
    ("shock", -1.0),
    ("nobody", -0.8),
    ("hung", -0.6),
    ("cancel", -0.6),
    ("refund", -0.4),
    ("impatient", -0.9),
    ("careless", -0.9),
    ("sloppy", -0.9),
    ("mess", -0.8),
    ("unreliable", -0.9),
    ("unprofessional", -1.0),
    ("delayed", -0.7),
    ("delay", -0.6),
    ("fault", -0.6),
    ("blamed", -0.8),
    ("impressive", 0.9),
    ("solid", 0.6),
    ("quiet", 0.5),
    ("quietly", 0.5),
    ("properly", 0.6),
    // expected service actions: neutral alone, negative when they did not happen ("never showed up")
    ("showed", 0.4),
    ("show", 0.3),
    ("received", 0.4),
    ("fix", 0.4),
    ("arrive", 0.3),
    ("stuck", -0.6),
    ("crashes", -0.7),
    ("crashed", -0.7),
    ("dead", -0.7),
];

/// Two-word English phrases, matched before single words.
const PHRASES: &[(&str, &str, f64)] = &[
    ("no", "one", -0.8),
    ("never", "again", -1.2),
    ("took", "forever", -1.0),
    ("stopped", "working", -1.0),
    ("not", "working", -0.9),
    ("waste", "of", -0.9),
    ("on", "time", 0.6),
    ("well", "done", 0.9),
    ("no", "problem", 0.4),
    ("no", "issues", 0.5),
    ("too", "long", -0.8),
    ("no", "response", -0.9),
    ("no", "reply", -0.9),
    ("hung", "up", -1.0),
    ("on", "hold", -0.7),
    ("nothing", "special", -0.4),
    ("good", "job", 0.9),
    ("over", "charged", -1.0),
];

/// Words that flip the sentiment word after them.
const NEGATORS: &[&str] = &[
    "不",
    "没",
    "没有",
    "别",
    "未",
    "并不",
    "不是",
    "不太",
    "从不",
    "毫不",
    "一点也不",
    "不怎么",
    "无",
    "not",
    "no",
    "never",
    "hardly",
    "barely",
    "cannot",
    "nothing",
    "neither",
    "nor",
    "without",
];

/// Words that strengthen (> 1) or soften (< 1) the sentiment word after them.
const MODIFIERS: &[(&str, f64)] = &[
    ("非常", 1.6),
    ("很", 1.3),
    ("太", 1.5),
    ("特别", 1.6),
    ("极其", 1.8),
    ("十分", 1.6),
    ("超级", 1.7),
    ("超", 1.5),
    ("真", 1.3),
    ("真的", 1.4),
    ("相当", 1.4),
    ("最", 1.7),
    ("极", 1.7),
    ("挺", 1.1),
    ("更", 1.2),
    ("实在", 1.5),
    ("完全", 1.5),
    ("彻底", 1.5),
    ("巨", 1.6),
    ("好几", 1.3),
    ("有点", 0.5),
    ("有些", 0.5),
    ("稍微", 0.4),
    ("略", 0.4),
    ("一点", 0.5),
    ("比较", 0.8),
    ("还算", 0.7),
    ("very", 1.5),
    ("really", 1.4),
    ("extremely", 1.8),
    ("so", 1.4),
    ("too", 1.3),
    ("super", 1.6),
    ("absolutely", 1.7),
    ("totally", 1.6),
    ("completely", 1.6),
    ("incredibly", 1.8),
    ("highly", 1.5),
    ("truly", 1.5),
    ("most", 1.4),
    ("utterly", 1.8),
    ("quite", 1.2),
    ("slightly", 0.4),
    ("somewhat", 0.5),
    ("bit", 0.4),
    ("little", 0.4),
    ("fairly", 0.8),
    ("rather", 0.8),
];

/// Words that turn the weight to what follows: what came before counts half.
const CONTRASTS: &[&str] = &[
    "但是", "但", "不过", "可是", "然而", "只是", "却", "but", "however", "though", "although",
    "yet",
];

/// Topic terms: (term, topic, weight).
const TOPICS: &[(&str, Topic, f64)] = &[
    // product quality
    ("质量", Topic::ProductQuality, 2.0),
    ("坏", Topic::ProductQuality, 1.0),
    ("坏了", Topic::ProductQuality, 1.5),
    ("故障", Topic::ProductQuality, 1.5),
    ("漏水", Topic::ProductQuality, 1.5),
    ("异响", Topic::ProductQuality, 1.5),
    ("噪音", Topic::ProductQuality, 1.5),
    ("破损", Topic::ProductQuality, 1.0),
    ("裂", Topic::ProductQuality, 1.0),
    ("死机", Topic::ProductQuality, 1.5),
    ("黑屏", Topic::ProductQuality, 1.5),
    ("开机", Topic::ProductQuality, 1.0),
    ("毛病", Topic::ProductQuality, 1.0),
    ("做工", Topic::ProductQuality, 1.5),
    ("性能", Topic::ProductQuality, 1.0),
    ("失灵", Topic::ProductQuality, 1.5),
    ("着火", Topic::ProductQuality, 1.5),
    ("冒烟", Topic::ProductQuality, 1.5),
    ("耐用", Topic::ProductQuality, 1.0),
    ("产品", Topic::ProductQuality, 0.8),
    ("卡顿", Topic::ProductQuality, 1.0),
    ("quality", Topic::ProductQuality, 2.0),
    ("broken", Topic::ProductQuality, 1.5),
    ("broke", Topic::ProductQuality, 1.5),
    ("faulty", Topic::ProductQuality, 1.5),
    ("defective", Topic::ProductQuality, 1.5),
    ("defect", Topic::ProductQuality, 1.5),
    ("leak", Topic::ProductQuality, 1.5),
    ("leaking", Topic::ProductQuality, 1.5),
    ("leaks", Topic::ProductQuality, 1.5),
    ("noise", Topic::ProductQuality, 1.0),
    ("noisy", Topic::ProductQuality, 1.0),
    ("cracked", Topic::ProductQuality, 1.0),
    ("product", Topic::ProductQuality, 0.8),
    ("stopped", Topic::ProductQuality, 1.0),
    ("crashes", Topic::ProductQuality, 1.0),
    ("battery", Topic::ProductQuality, 1.0),
    ("smoke", Topic::ProductQuality, 1.5),
    ("sparks", Topic::ProductQuality, 1.5),
    ("build", Topic::ProductQuality, 1.0),
    ("dead", Topic::ProductQuality, 1.0),
    ("overheats", Topic::ProductQuality, 1.5),
    // service attitude
    ("态度", Topic::ServiceAttitude, 2.0),
    ("客服", Topic::ServiceAttitude, 1.5),
    ("服务", Topic::ServiceAttitude, 1.0),
    ("耐心", Topic::ServiceAttitude, 1.5),
    ("很耐心", Topic::ServiceAttitude, 1.5),
    ("不耐烦", Topic::ServiceAttitude, 2.0),
    ("礼貌", Topic::ServiceAttitude, 1.5),
    ("敷衍", Topic::ServiceAttitude, 2.0),
    ("热情", Topic::ServiceAttitude, 1.5),
    ("专业", Topic::ServiceAttitude, 1.0),
    ("不专业", Topic::ServiceAttitude, 1.5),
    ("推诿", Topic::ServiceAttitude, 2.0),
    ("态度差", Topic::ServiceAttitude, 2.0),
    ("态度恶劣", Topic::ServiceAttitude, 2.0),
    ("粗鲁", Topic::ServiceAttitude, 2.0),
    ("周到", Topic::ServiceAttitude, 1.5),
    ("贴心", Topic::ServiceAttitude, 1.5),
    ("细心", Topic::ServiceAttitude, 1.0),
    ("没人理", Topic::ServiceAttitude, 1.5),
    ("踢皮球", Topic::ServiceAttitude, 2.0),
    ("友好", Topic::ServiceAttitude, 1.5),
    ("attitude", Topic::ServiceAttitude, 2.0),
    ("rude", Topic::ServiceAttitude, 2.0),
    ("polite", Topic::ServiceAttitude, 1.5),
    ("friendly", Topic::ServiceAttitude, 1.5),
    ("patient", Topic::ServiceAttitude, 1.5),
    ("impatient", Topic::ServiceAttitude, 1.5),
    ("staff", Topic::ServiceAttitude, 1.0),
    ("agent", Topic::ServiceAttitude, 1.0),
    ("service", Topic::ServiceAttitude, 0.8),
    ("courteous", Topic::ServiceAttitude, 1.5),
    ("dismissive", Topic::ServiceAttitude, 2.0),
    ("unprofessional", Topic::ServiceAttitude, 1.5),
    ("professional", Topic::ServiceAttitude, 1.0),
    ("support", Topic::ServiceAttitude, 0.8),
    ("helpful", Topic::ServiceAttitude, 1.0),
    ("unhelpful", Topic::ServiceAttitude, 1.5),
    ("knowledgeable", Topic::ServiceAttitude, 1.0),
    ("kind", Topic::ServiceAttitude, 1.0),
    ("listened", Topic::ServiceAttitude, 1.0),
    ("incompetent", Topic::ServiceAttitude, 1.5),
    ("representative", Topic::ServiceAttitude, 1.0),
    // delivery
    ("送货", Topic::Delivery, 2.0),
    ("物流", Topic::Delivery, 2.0),
    ("快递", Topic::Delivery, 2.0),
    ("配送", Topic::Delivery, 2.0),
    ("发货", Topic::Delivery, 2.0),
    ("到货", Topic::Delivery, 2.0),
    ("包装", Topic::Delivery, 1.5),
    ("安装", Topic::Delivery, 1.0),
    ("送到", Topic::Delivery, 1.5),
    ("收到", Topic::Delivery, 0.8),
    ("签收", Topic::Delivery, 1.5),
    ("delivery", Topic::Delivery, 2.0),
    ("delivered", Topic::Delivery, 2.0),
    ("shipping", Topic::Delivery, 2.0),
    ("shipped", Topic::Delivery, 2.0),
    ("courier", Topic::Delivery, 2.0),
    ("package", Topic::Delivery, 1.5),
    ("parcel", Topic::Delivery, 1.5),
    ("arrived", Topic::Delivery, 1.5),
    ("installation", Topic::Delivery, 1.0),
    ("packaging", Topic::Delivery, 1.5),
    ("box", Topic::Delivery, 0.8),
    // billing
    ("发票", Topic::Billing, 2.0),
    ("收费", Topic::Billing, 2.0),
    ("乱收费", Topic::Billing, 2.0),
    ("扣费", Topic::Billing, 2.0),
    ("退款", Topic::Billing, 2.0),
    ("账单", Topic::Billing, 2.0),
    ("费用", Topic::Billing, 1.5),
    ("多收", Topic::Billing, 2.0),
    ("付款", Topic::Billing, 1.5),
    ("扣款", Topic::Billing, 2.0),
    ("退钱", Topic::Billing, 2.0),
    ("invoice", Topic::Billing, 2.0),
    ("charge", Topic::Billing, 2.0),
    ("charged", Topic::Billing, 2.0),
    ("overcharged", Topic::Billing, 2.0),
    ("billing", Topic::Billing, 2.0),
    ("bill", Topic::Billing, 2.0),
    ("refund", Topic::Billing, 2.0),
    ("refunded", Topic::Billing, 2.0),
    ("payment", Topic::Billing, 1.5),
    ("fee", Topic::Billing, 1.5),
    // usability
    ("难用", Topic::Usability, 2.0),
    ("好用", Topic::Usability, 1.5),
    ("操作", Topic::Usability, 1.5),
    ("复杂", Topic::Usability, 1.0),
    ("说明书", Topic::Usability, 1.5),
    ("界面", Topic::Usability, 1.5),
    ("app", Topic::Usability, 1.0),
    ("设置", Topic::Usability, 1.0),
    ("confusing", Topic::Usability, 1.5),
    ("easy", Topic::Usability, 1.0),
    ("interface", Topic::Usability, 1.5),
    ("manual", Topic::Usability, 1.0),
    ("instructions", Topic::Usability, 1.5),
    ("setup", Topic::Usability, 1.0),
    // price
    ("价格", Topic::Price, 2.0),
    ("贵", Topic::Price, 1.5),
    ("便宜", Topic::Price, 1.5),
    ("性价比", Topic::Price, 2.0),
    ("price", Topic::Price, 2.0),
    ("expensive", Topic::Price, 1.5),
    ("cheap", Topic::Price, 1.5),
    ("value", Topic::Price, 1.0),
    // response speed
    ("慢", Topic::ResponseSpeed, 1.5),
    ("太慢", Topic::ResponseSpeed, 1.5),
    ("晚", Topic::ResponseSpeed, 1.5),
    ("很晚", Topic::ResponseSpeed, 1.5),
    ("及时", Topic::ResponseSpeed, 1.5),
    ("迅速", Topic::ResponseSpeed, 1.5),
    ("快", Topic::ResponseSpeed, 1.0),
    ("等", Topic::ResponseSpeed, 1.0),
    ("等了", Topic::ResponseSpeed, 1.5),
    ("回复", Topic::ResponseSpeed, 1.0),
    ("响应", Topic::ResponseSpeed, 1.5),
    ("效率", Topic::ResponseSpeed, 1.5),
    ("拖", Topic::ResponseSpeed, 1.5),
    ("拖延", Topic::ResponseSpeed, 1.5),
    ("准时", Topic::ResponseSpeed, 1.5),
    ("高效", Topic::ResponseSpeed, 1.0),
    ("小时", Topic::ResponseSpeed, 0.8),
    ("天", Topic::ResponseSpeed, 0.5),
    ("slow", Topic::ResponseSpeed, 1.5),
    ("late", Topic::ResponseSpeed, 1.5),
    ("quick", Topic::ResponseSpeed, 1.5),
    ("quickly", Topic::ResponseSpeed, 1.5),
    ("fast", Topic::ResponseSpeed, 1.0),
    ("prompt", Topic::ResponseSpeed, 1.5),
    ("promptly", Topic::ResponseSpeed, 1.5),
    ("wait", Topic::ResponseSpeed, 1.5),
    ("waited", Topic::ResponseSpeed, 1.5),
    ("waiting", Topic::ResponseSpeed, 1.5),
    ("hours", Topic::ResponseSpeed, 1.0),
    ("days", Topic::ResponseSpeed, 0.8),
    ("weeks", Topic::ResponseSpeed, 0.8),
    ("forever", Topic::ResponseSpeed, 1.5),
    ("response", Topic::ResponseSpeed, 1.0),
    ("reply", Topic::ResponseSpeed, 1.0),
    ("replied", Topic::ResponseSpeed, 1.0),
    ("hold", Topic::ResponseSpeed, 1.0),
    ("delayed", Topic::ResponseSpeed, 1.5),
    ("delay", Topic::ResponseSpeed, 1.5),
    ("punctual", Topic::ResponseSpeed, 1.5),
    ("efficient", Topic::ResponseSpeed, 1.0),
    // after-sales repair
    ("维修", Topic::AfterSalesRepair, 2.0),
    ("修", Topic::AfterSalesRepair, 1.5),
    ("修好", Topic::AfterSalesRepair, 2.0),
    ("修理", Topic::AfterSalesRepair, 2.0),
    ("保修", Topic::AfterSalesRepair, 2.0),
    ("返修", Topic::AfterSalesRepair, 2.0),
    ("换货", Topic::AfterSalesRepair, 2.0),
    ("售后", Topic::AfterSalesRepair, 1.5),
    ("检修", Topic::AfterSalesRepair, 2.0),
    ("换新", Topic::AfterSalesRepair, 2.0),
    ("修不好", Topic::AfterSalesRepair, 2.0),
    ("配件", Topic::AfterSalesRepair, 1.5),
    ("repair", Topic::AfterSalesRepair, 2.0),
    ("repaired", Topic::AfterSalesRepair, 2.0),
    ("warranty", Topic::AfterSalesRepair, 2.0),
    ("replacement", Topic::AfterSalesRepair, 2.0),
    ("replaced", Topic::AfterSalesRepair, 1.5),
    ("technician", Topic::AfterSalesRepair, 1.5),
    ("fixed", Topic::AfterSalesRepair, 1.0),
    ("fix", Topic::AfterSalesRepair, 1.0),
    ("engineer", Topic::AfterSalesRepair, 1.5),
    ("parts", Topic::AfterSalesRepair, 1.0),
];

/// Terms that make negative feedback critical: safety, legal or public exposure.
const CRITICAL: &[&str] = &[
    "着火",
    "起火",
    "冒烟",
    "爆炸",
    "触电",
    "漏电",
    "受伤",
    "烫伤",
    "律师",
    "起诉",
    "法院",
    "消协",
    "12315",
    "媒体",
    "曝光",
    "记者",
    "报警",
    "fire",
    "smoke",
    "sparks",
    "explode",
    "exploded",
    "shock",
    "injured",
    "injury",
    "burned",
    "burnt",
    "lawyer",
    "sue",
    "court",
    "regulator",
    "press",
    "media",
    "viral",
    "police",
];

/// Terms that make negative feedback a serious complaint: anger, churn, escalation.
const ESCALATION: &[&str] = &[
    "投诉",
    "再也不",
    "换品牌",
    "退款",
    "差评",
    "骗",
    "欺骗",
    "忽悠",
    "愤怒",
    "气愤",
    "垃圾",
    "恶劣",
    "无法接受",
    "最后一次",
    "complaint",
    "complain",
    "never",
    "cancel",
    "furious",
    "unacceptable",
    "scam",
    "worst",
    "refund",
    "switching",
    "lawsuit",
    "ridiculous",
    "disgusted",
];

/// The result of classifying one text.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// Topics found, most weighty first; `[Other]` when none.
    pub topics: Vec<Topic>,
    /// How serious.
    pub severity: Severity,
    /// The bucket of `score`.
    pub sentiment: Sentiment,
    /// -1 to 1.
    pub score: f64,
    /// 0 to 1.
    pub confidence: f64,
    /// What matched (at most 20).
    pub matched_terms: Vec<String>,
}

impl Classification {
    /// The primary topic.
    pub fn topic(&self) -> Topic {
        self.topics.first().copied().unwrap_or(Topic::Other)
    }
}

#[derive(Debug, Clone, Copy)]
enum Unit {
    Sentiment(f64),
    Negator,
    Modifier(f64),
    Contrast,
    Break,
    Plain,
}

struct Lexicon {
    sentiment: HashMap<&'static str, f64>,
    phrases: HashMap<(&'static str, &'static str), f64>,
    modifiers: HashMap<&'static str, f64>,
    topics: HashMap<&'static str, Vec<(Topic, f64)>>,
    longest: usize,
}

static LEXICON: LazyLock<Lexicon> = LazyLock::new(|| {
    let mut topics: HashMap<&'static str, Vec<(Topic, f64)>> = HashMap::new();
    for (term, topic, weight) in TOPICS {
        topics.entry(term).or_default().push((*topic, *weight));
    }
    let sentiment: HashMap<_, _> = SENTIMENT.iter().copied().collect();
    let modifiers: HashMap<_, _> = MODIFIERS.iter().copied().collect();
    let longest = sentiment
        .keys()
        .chain(modifiers.keys())
        .chain(NEGATORS.iter())
        .chain(topics.keys())
        .map(|w| w.chars().count())
        .max()
        .unwrap_or(1);
    Lexicon {
        sentiment,
        phrases: PHRASES.iter().map(|(a, b, w)| ((*a, *b), *w)).collect(),
        modifiers,
        topics,
        longest,
    }
});

impl Lexicon {
    fn knows(&self, word: &str) -> bool {
        self.sentiment.contains_key(word)
            || self.modifiers.contains_key(word)
            || self.topics.contains_key(word)
            || NEGATORS.contains(&word)
            || CONTRASTS.contains(&word)
            || CRITICAL.contains(&word)
            || ESCALATION.contains(&word)
    }
}

/// Whether `text` contains Chinese characters.
pub fn has_han(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// The language of `text` as a BCP 47 tag: `zh-CN` when it has Chinese characters, else `en`.
pub fn detect_language(text: &str) -> &'static str {
    if has_han(text) { "zh-CN" } else { "en" }
}

fn is_break(word: &str) -> bool {
    word.chars().all(|c| {
        matches!(
            c,
            '，' | '。'
                | '！'
                | '？'
                | '；'
                | '、'
                | ','
                | '.'
                | '!'
                | '?'
                | ';'
                | '\n'
                | '~'
                | '…'
                | '：'
                | ':'
        )
    }) && !word.trim().is_empty()
}

/// The words of `text`: jieba segments, English lowercased with contractions expanded,
/// words the lexicons do not know split by longest match over them, spaces dropped.
fn words(text: &str) -> Vec<String> {
    let normalised = text
        .to_lowercase()
        .replace('’', "'")
        .replace("can't", "can not")
        .replace("won't", "will not")
        .replace("n't", " not");
    let lexicon = &*LEXICON;
    let mut out = Vec::new();
    for token in JIEBA.cut(&normalised, true) {
        let word = token.word.trim();
        if word.is_empty() || word == "'" {
            continue;
        }
        if lexicon.knows(word) || !has_han(word) || word.chars().count() == 1 {
            out.push(word.to_owned());
            continue;
        }
        // Longest match over the lexicons; characters they do not know stay as they are.
        let chars: Vec<char> = word.chars().collect();
        let mut i = 0;
        let mut plain = String::new();
        while i < chars.len() {
            let mut matched = None;
            for len in (2..=lexicon.longest.min(chars.len() - i)).rev() {
                let piece: String = chars[i..i + len].iter().collect();
                if lexicon.knows(&piece) {
                    matched = Some((piece, len));
                    break;
                }
            }
            match matched {
                Some((piece, len)) => {
                    if !plain.is_empty() {
                        out.push(std::mem::take(&mut plain));
                    }
                    out.push(piece);
                    i += len;
                }
                None => {
                    let single = chars[i].to_string();
                    if lexicon.knows(&single) {
                        if !plain.is_empty() {
                            out.push(std::mem::take(&mut plain));
                        }
                        out.push(single);
                    } else {
                        plain.push(chars[i]);
                    }
                    i += 1;
                }
            }
        }
        if !plain.is_empty() {
            out.push(plain);
        }
    }
    out
}

/// Classifies `text` (Chinese, English or both).
pub fn classify(text: &str) -> Classification {
    let lexicon = &*LEXICON;
    let words = words(text);
    let mut units = Vec::with_capacity(words.len());
    let mut matched: Vec<String> = Vec::new();
    let mut note = |term: &str| {
        if matched.len() < 20 && !matched.iter().any(|m| m == term) {
            matched.push(term.to_owned());
        }
    };
    let mut topic_weight: Vec<(Topic, f64, usize)> = Vec::new();
    let mut critical = false;
    let mut escalation = false;
    let mut skip = false;
    for (index, word) in words.iter().enumerate() {
        if skip {
            skip = false;
            units.push(Unit::Plain);
            continue;
        }
        let w = word.as_str();
        if let Some(topics) = lexicon.topics.get(w) {
            note(w);
            for (topic, weight) in topics {
                match topic_weight.iter_mut().find(|(t, _, _)| t == topic) {
                    Some(entry) => entry.1 += weight,
                    None => topic_weight.push((*topic, *weight, index)),
                }
            }
        }
        if CRITICAL.contains(&w) {
            critical = true;
            note(w);
        }
        if ESCALATION.contains(&w) {
            escalation = true;
            note(w);
        }
        let next = words.get(index + 1).map(String::as_str).unwrap_or_default();
        let unit = if let Some(weight) = lexicon.phrases.get(&(w, next)) {
            note(&format!("{w} {next}"));
            skip = true;
            Unit::Sentiment(*weight)
        } else if NEGATORS.contains(&w) {
            note(w);
            Unit::Negator
        } else if let Some(factor) = lexicon.modifiers.get(w) {
            Unit::Modifier(*factor)
        } else if CONTRASTS.contains(&w) {
            Unit::Contrast
        } else if let Some(weight) = lexicon.sentiment.get(w) {
            note(w);
            Unit::Sentiment(*weight)
        } else if is_break(w) {
            Unit::Break
        } else {
            Unit::Plain
        };
        units.push(unit);
    }

    let mut total = 0.0;
    let mut hits = 0usize;
    let mut since_negator: Option<usize> = None;
    let mut factor = 1.0;
    let mut after_contrast = 1.0;
    for unit in &units {
        match *unit {
            Unit::Break => {
                since_negator = None;
                factor = 1.0;
            }
            Unit::Negator => since_negator = Some(0),
            Unit::Modifier(m) => factor *= m,
            Unit::Contrast => {
                total *= 0.5;
                after_contrast = 1.3;
                since_negator = None;
                factor = 1.0;
            }
            Unit::Sentiment(weight) => {
                hits += 1;
                let negated = since_negator.is_some_and(|n| n <= 3);
                let value = match (negated, weight > 0.0) {
                    (false, _) => weight,
                    (true, true) => -0.8 * weight,
                    (true, false) => -0.5 * weight,
                };
                total += value * factor.min(3.0) * after_contrast;
                since_negator = None;
                factor = 1.0;
            }
            Unit::Plain => {
                if let Some(n) = since_negator.as_mut() {
                    *n += 1;
                }
            }
        }
    }
    let score = if total == 0.0 {
        0.0
    } else {
        total / (total.abs() + 1.0)
    };
    let sentiment = Sentiment::of(score);
    let severity = match sentiment {
        Sentiment::Negative if critical => Severity::Critical,
        Sentiment::Negative if escalation || score <= -0.6 => Severity::High,
        Sentiment::Negative => Severity::Medium,
        _ => Severity::Low,
    };
    topic_weight.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    let mut topics: Vec<Topic> = topic_weight
        .iter()
        .filter(|(_, weight, _)| *weight >= 1.0)
        .map(|(topic, _, _)| *topic)
        .collect();
    if topics.is_empty() {
        topics.push(Topic::Other);
    }
    let confidence = if hits == 0 {
        0.3
    } else {
        let margin = (score.abs() / 0.5).min(1.0);
        (0.5 + 0.45 * margin + 0.05 * (hits.min(3) as f64 / 3.0)).min(1.0)
    };
    Classification {
        topics,
        severity,
        sentiment,
        score: (score * 1000.0).round() / 1000.0,
        confidence: (confidence * 100.0).round() / 100.0,
        matched_terms: matched,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journey_comment_is_negative_about_attitude_and_speed() {
        let c = classify("师傅上门很晚，态度也不好，非常不满意");
        assert_eq!(c.sentiment, Sentiment::Negative, "{c:?}");
        assert_eq!(c.topic(), Topic::ServiceAttitude, "{c:?}");
        assert!(c.topics.contains(&Topic::ResponseSpeed), "{c:?}");
        assert!(!c.topics.contains(&Topic::Delivery), "{c:?}");
    }

    #[test]
    fn negation_turns_satisfaction_into_dissatisfaction() {
        assert_eq!(classify("满意").sentiment, Sentiment::Positive);
        assert_eq!(classify("不满意").sentiment, Sentiment::Negative);
        assert_eq!(classify("一点也不满意").sentiment, Sentiment::Negative);
        assert_eq!(
            classify("I am happy with it").sentiment,
            Sentiment::Positive
        );
        assert_eq!(
            classify("I am not happy with it").sentiment,
            Sentiment::Negative
        );
        assert_eq!(
            classify("The agent wasn't helpful").sentiment,
            Sentiment::Negative
        );
        assert_eq!(classify("服务不差").sentiment, Sentiment::Positive);
    }

    #[test]
    fn intensifiers_strengthen_and_diminishers_soften() {
        let plain = classify("满意").score;
        let strong = classify("非常满意").score;
        let weak = classify("有点满意").score;
        assert!(strong > plain && plain > weak, "{strong} {plain} {weak}");
        let bad = classify("slow").score;
        let very_bad = classify("extremely slow").score;
        assert!(very_bad < bad, "{very_bad} {bad}");
        assert_eq!(classify("a bit slow").sentiment, Sentiment::Neutral);
        assert_eq!(classify("very slow").sentiment, Sentiment::Negative);
    }

    #[test]
    fn what_follows_a_contrast_weighs_more() {
        assert_eq!(
            classify("客服态度很好，但是问题一直没有解决，非常失望").sentiment,
            Sentiment::Negative
        );
        assert_eq!(
            classify("It was a bit slow but the technician was excellent").sentiment,
            Sentiment::Positive
        );
    }

    #[test]
    fn safety_and_anger_raise_severity() {
        let fire = classify("充电的时候冒烟了，差点着火，太危险了");
        assert_eq!(fire.severity, Severity::Critical, "{fire:?}");
        let angry = classify("Worst service ever, I will file a complaint");
        assert_eq!(angry.severity, Severity::High, "{angry:?}");
        let mild = classify("delivery was a little late");
        assert!(mild.severity <= Severity::Medium, "{mild:?}");
        assert_eq!(classify("谢谢师傅").severity, Severity::Low);
    }

    #[test]
    fn text_without_sentiment_words_is_neutral_with_low_confidence() {
        let c = classify("我想咨询一下型号");
        assert_eq!(c.sentiment, Sentiment::Neutral);
        assert!(c.confidence < 0.5);
        assert_eq!(detect_language("hello"), "en");
        assert_eq!(detect_language("你好 hello"), "zh-CN");
    }

    /// One row of the labelled set: the expected sentiment, topic and the text.
    fn labelled() -> Vec<(Sentiment, Topic, &'static str)> {
        include_str!("../../tests/data/labelled_feedback.tsv")
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
            .map(|line| {
                let mut parts = line.splitn(3, '\t');
                let sentiment =
                    Sentiment::from_name(parts.next().unwrap()).expect("a sentiment label");
                let topic = Topic::from_name(parts.next().unwrap()).expect("a topic label");
                (sentiment, topic, parts.next().expect("a text"))
            })
            .collect()
    }

    #[test]
    fn accuracy_on_the_labelled_set_is_at_least_85_percent_for_sentiment() {
        let set = labelled();
        assert!(set.len() >= 200, "the labelled set has {} rows", set.len());
        let mut per_class: HashMap<Sentiment, (usize, usize)> = HashMap::new();
        let mut per_topic: HashMap<Topic, (usize, usize)> = HashMap::new();
        let mut per_language: HashMap<&str, (usize, usize)> = HashMap::new();
        let mut misses = Vec::new();
        let mut primary_correct = 0usize;
        for (expected, topic, text) in &set {
            let got = classify(text);
            if got.topic() == *topic {
                primary_correct += 1;
            }
            let entry = per_class.entry(*expected).or_default();
            entry.1 += 1;
            let language = entry_language(text);
            let lang = per_language.entry(language).or_default();
            lang.1 += 1;
            if got.sentiment == *expected {
                entry.0 += 1;
                lang.0 += 1;
            } else {
                misses.push(format!(
                    "{:?} expected {:?} ({}): {text}",
                    got.sentiment, expected, got.score
                ));
            }
            let t = per_topic.entry(*topic).or_default();
            t.1 += 1;
            if got.topics.contains(topic) {
                t.0 += 1;
            }
        }
        let correct: usize = per_class.values().map(|(c, _)| c).sum();
        let overall = correct as f64 / set.len() as f64;
        println!(
            "labelled set: {} comments, sentiment accuracy {:.1}%",
            set.len(),
            overall * 100.0
        );
        for class in Sentiment::ALL {
            let (c, n) = per_class.get(class).copied().unwrap_or_default();
            println!(
                "  sentiment {:<9} {c:>3}/{n:<3} {:.1}%",
                class.name(),
                100.0 * c as f64 / n.max(1) as f64
            );
        }
        for (language, (c, n)) in &per_language {
            println!(
                "  language  {language:<9} {c:>3}/{n:<3} {:.1}%",
                100.0 * *c as f64 / (*n).max(1) as f64
            );
        }
        let topic_correct: usize = per_topic.values().map(|(c, _)| c).sum();
        println!(
            "  topic found among the topics: {:.1}%",
            100.0 * topic_correct as f64 / set.len() as f64
        );
        println!(
            "  topic as the primary topic: {:.1}%",
            100.0 * primary_correct as f64 / set.len() as f64
        );
        for topic in Topic::ALL {
            if let Some((c, n)) = per_topic.get(topic) {
                println!(
                    "  topic {:<18} {c:>3}/{n:<3} {:.1}%",
                    topic.name(),
                    100.0 * *c as f64 / (*n).max(1) as f64
                );
            }
        }
        for miss in &misses {
            println!("  miss: {miss}");
        }
        assert!(
            overall >= 0.85,
            "sentiment accuracy {overall:.3} is below 0.85"
        );
        for class in Sentiment::ALL {
            let (c, n) = per_class.get(class).copied().unwrap_or_default();
            assert!(n >= 20, "class {class:?} has only {n} examples");
            assert!(
                c as f64 / n as f64 >= 0.7,
                "class {class:?} accuracy {c}/{n} below 0.7"
            );
        }
        assert!(
            topic_correct as f64 / set.len() as f64 >= 0.6,
            "topic accuracy below 0.6"
        );
    }

    fn entry_language(text: &str) -> &'static str {
        if has_han(text) { "zh" } else { "en" }
    }
}
