//! The keyword classifier (`keywords-v1`): infers kind, sub-kind, priority and language from
//! a ticket's subject and description, in Chinese and English.
//!
//! The rule, in full:
//!
//! 1. The text is the subject (counted twice: it is the customer's own summary) and the
//!    description, lower-cased.
//! 2. Each [`KIND_RULES`] entry names a kind, optionally a sub-kind, a weight and keywords.
//!    An English keyword matches on word boundaries (`refund` does not match `refunded`'s
//!    prefix inside another word, but phrases like `set up` match as written); a Chinese
//!    keyword matches as a substring (Chinese has no spaces). Each matching keyword adds the
//!    rule's weight to its kind's score and, when it names one, its sub-kind's score.
//! 3. The kind is the one with the highest score; its confidence is
//!    `score / (total of all kind scores + 1)`, the `+ 1` keeping a single weak hit from
//!    claiming certainty. Below [`MIN_CONFIDENCE`] (or with no hit at all) the kind is
//!    defaulted to `INQUIRY` with confidence 0.
//! 4. The sub-kind is the highest-scoring sub-kind that belongs to the chosen kind, with
//!    confidence `score / (total of that kind's sub-kind scores + 1)`; with none it is left
//!    unspecified.
//! 5. Priority: the highest level whose [`PRIORITY_RULES`] keywords match (safety and
//!    outages are `URGENT`; "cannot use" or an explicit "urgent" are `HIGH`; "just a
//!    question" is `LOW`), confidence `0.5 + 0.15 × hits` capped at 0.95; with no hit,
//!    `NORMAL`, defaulted.
//! 6. Language: `zh` when at least a fifth of the letters are Han characters, `en` when the
//!    letters are mostly Latin, otherwise none detected.
//!
//! Ties are broken by the order of `Kind` / `SubKind` (earlier wins), so the result is
//! deterministic.

use std::collections::BTreeMap;

use super::values::{Kind, LanguageCode, Priority, SubKind};

/// The classifier's name and version, recorded with each classification.
pub const CLASSIFIER_NAME: &str = "keywords-v1";

/// Below this confidence an inferred kind is not trusted and the default is used.
pub const MIN_CONFIDENCE: f32 = 0.3;

/// Where a classification value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClassificationSource {
    /// Given by the caller.
    Given,
    /// Inferred by the classifier.
    Inferred,
    /// Neither given nor inferred: the default.
    Defaulted,
}

/// How kind, sub-kind and priority were decided, as recorded on the ticket.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Classification {
    /// Where the kind came from.
    pub kind_source: ClassificationSource,
    /// Confidence in the kind (0 unless inferred).
    pub kind_confidence: f32,
    /// Where the sub-kind came from; `None` when it is unspecified.
    pub sub_kind_source: Option<ClassificationSource>,
    /// Confidence in the sub-kind (0 unless inferred).
    pub sub_kind_confidence: f32,
    /// Where the priority came from.
    pub priority_source: ClassificationSource,
    /// Confidence in the priority (0 unless inferred).
    pub priority_confidence: f32,
    /// Whether the language was detected.
    pub language_detected: bool,
    /// The classifier and version.
    pub classifier: String,
    /// When (UTC microseconds).
    pub classify_time: i64,
}

/// The classifier's verdict on a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Classified {
    /// The kind, if inferred with enough confidence, and the confidence.
    pub kind: Option<(Kind, f32)>,
    /// The sub-kind, if any, and the confidence.
    pub sub_kind: Option<(SubKind, f32)>,
    /// The priority, if any keyword matched, and the confidence.
    pub priority: Option<(Priority, f32)>,
    /// The detected language.
    pub language: Option<LanguageCode>,
}

struct KindRule {
    kind: Kind,
    sub_kind: Option<SubKind>,
    weight: f32,
    keywords: &'static [&'static str],
}

const fn rule(
    kind: Kind,
    sub_kind: Option<SubKind>,
    weight: f32,
    keywords: &'static [&'static str],
) -> KindRule {
    KindRule {
        kind,
        sub_kind,
        weight,
        keywords,
    }
}

/// The kind and sub-kind keywords.
const KIND_RULES: &[KindRule] = &[
    // Inquiry.
    rule(
        Kind::Inquiry,
        Some(SubKind::ProductInfo),
        1.0,
        &[
            "specification",
            "specifications",
            "specs",
            "price",
            "availability",
            "in stock",
            "capacity",
            "dimensions",
            "difference between",
            "which model",
            "does it support",
            "规格",
            "参数",
            "价格",
            "多少钱",
            "有货",
            "容量",
            "尺寸",
            "区别",
            "哪款",
            "是否支持",
        ],
    ),
    rule(
        Kind::Inquiry,
        Some(SubKind::Usage),
        1.0,
        &[
            "how do i",
            "how to",
            "how can i",
            "instructions",
            "manual",
            "what does",
            "mean",
            "怎么用",
            "如何使用",
            "怎么设置",
            "说明书",
            "使用方法",
            "如何",
        ],
    ),
    rule(
        Kind::Inquiry,
        None,
        0.5,
        &["question", "wondering", "请问", "咨询", "想了解"],
    ),
    // Technical support.
    rule(
        Kind::TechnicalSupport,
        Some(SubKind::Malfunction),
        1.5,
        &[
            "not working",
            "doesn't work",
            "does not work",
            "won't turn on",
            "will not turn on",
            "stopped working",
            "broken",
            "error",
            "error code",
            "fault",
            "crash",
            "crashes",
            "leaking",
            "leaks",
            "noise",
            "noisy",
            "overheating",
            "smoking",
            "smoke",
            "dead",
            "无法开机",
            "不能开机",
            "开不了机",
            "坏了",
            "故障",
            "报错",
            "错误代码",
            "不工作",
            "漏水",
            "噪音",
            "异响",
            "过热",
            "冒烟",
            "死机",
            "不制冷",
            "不加热",
            "失灵",
        ],
    ),
    rule(
        Kind::TechnicalSupport,
        Some(SubKind::Installation),
        1.5,
        &[
            "install",
            "installation",
            "set up",
            "setup",
            "configure",
            "pair",
            "pairing",
            "wifi",
            "wi-fi",
            "connect to",
            "firmware",
            "update the app",
            "安装",
            "设置",
            "配置",
            "配对",
            "连接",
            "联网",
            "固件",
            "升级",
        ],
    ),
    // After-sales.
    rule(
        Kind::AfterSales,
        Some(SubKind::Repair),
        2.0,
        &[
            "repair",
            "fix it",
            "service it",
            "warranty repair",
            "send it for repair",
            "维修",
            "修理",
            "保修",
            "返修",
        ],
    ),
    rule(
        Kind::AfterSales,
        Some(SubKind::Replacement),
        2.0,
        &[
            "replace",
            "replacement",
            "exchange",
            "swap",
            "new one",
            "换货",
            "更换",
            "换一台",
            "换新",
        ],
    ),
    rule(
        Kind::AfterSales,
        Some(SubKind::Return),
        2.0,
        &[
            "return",
            "refund",
            "money back",
            "send it back",
            "退货",
            "退款",
            "退钱",
            "七天无理由",
        ],
    ),
    rule(
        Kind::AfterSales,
        Some(SubKind::OnSiteVisit),
        2.5,
        &[
            "technician",
            "on-site",
            "on site",
            "home visit",
            "visit my home",
            "come to my house",
            "上门",
            "师傅",
            "到家",
        ],
    ),
    // Complaints.
    rule(
        Kind::Complaint,
        None,
        2.0,
        &[
            "complaint",
            "complain",
            "unacceptable",
            "terrible",
            "worst",
            "disappointed",
            "ridiculous",
            "angry",
            "投诉",
            "差评",
            "太差",
            "不满意",
            "失望",
            "气愤",
            "无法接受",
        ],
    ),
    rule(
        Kind::Complaint,
        Some(SubKind::ProductQuality),
        1.5,
        &[
            "poor quality",
            "bad quality",
            "cheap material",
            "fell apart",
            "defective",
            "cracked",
            "质量差",
            "质量问题",
            "做工",
            "劣质",
            "次品",
            "开裂",
        ],
    ),
    rule(
        Kind::Complaint,
        Some(SubKind::ServiceAttitude),
        2.5,
        &[
            "rude",
            "impolite",
            "hung up",
            "attitude",
            "unprofessional",
            "ignored me",
            "态度",
            "不礼貌",
            "挂电话",
            "不理人",
            "不专业",
        ],
    ),
    rule(
        Kind::Complaint,
        Some(SubKind::Delivery),
        2.0,
        &[
            "delivery",
            "delivered",
            "package",
            "parcel",
            "courier",
            "shipping",
            "late",
            "damaged box",
            "wrong item",
            "快递",
            "物流",
            "配送",
            "送货",
            "送错",
            "包裹",
            "发货",
            "太慢",
        ],
    ),
    rule(
        Kind::Complaint,
        Some(SubKind::Billing),
        2.0,
        &[
            "charged twice",
            "overcharged",
            "double charged",
            "invoice",
            "bill",
            "billing",
            "charge",
            "扣费",
            "多扣",
            "重复扣款",
            "发票",
            "账单",
            "收费",
        ],
    ),
];

/// The priority keywords, highest level first.
const PRIORITY_RULES: &[(Priority, &[&str])] = &[
    (
        Priority::Urgent,
        &[
            "fire",
            "smoke",
            "smoking",
            "sparks",
            "electric shock",
            "shock",
            "burning smell",
            "gas leak",
            "injured",
            "injury",
            "dangerous",
            "outage",
            "emergency",
            "起火",
            "着火",
            "冒烟",
            "火花",
            "触电",
            "漏电",
            "烧焦",
            "煤气",
            "受伤",
            "危险",
            "紧急",
        ],
    ),
    (
        Priority::High,
        &[
            "urgent",
            "asap",
            "immediately",
            "as soon as possible",
            "cannot use",
            "can't use",
            "unusable",
            "completely dead",
            "third time",
            "again and again",
            "急",
            "尽快",
            "马上",
            "立即",
            "无法使用",
            "用不了",
            "第三次",
            "多次",
        ],
    ),
    (
        Priority::Low,
        &[
            "just wondering",
            "no rush",
            "when you have time",
            "suggestion",
            "feedback",
            "不着急",
            "有空",
            "建议",
            "顺便问",
        ],
    ),
];

fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

/// How many times `keyword` occurs in `text` (lower-cased), on word boundaries for Latin
/// keywords.
fn hits(text: &str, keyword: &str) -> usize {
    if keyword.chars().any(is_han) {
        return text.matches(keyword).count();
    }
    let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric() || is_han(c));
    text.match_indices(keyword)
        .filter(|(start, matched)| {
            boundary(text[..*start].chars().next_back())
                && boundary(text[start + matched.len()..].chars().next())
        })
        .count()
}

fn detect_language(text: &str) -> Option<LanguageCode> {
    let (mut han, mut latin) = (0usize, 0usize);
    for c in text.chars() {
        if is_han(c) {
            han += 1;
        } else if c.is_ascii_alphabetic() {
            latin += 1;
        }
    }
    // A Han character carries about as much as a short Latin word: weigh it so.
    if han > 0 && han * 5 >= (han + latin / 4).max(1) {
        Some(LanguageCode::known("zh"))
    } else if latin > 0 {
        Some(LanguageCode::known("en"))
    } else {
        None
    }
}

/// Classifies a ticket's text (see the module documentation for the rule).
pub fn classify(subject: &str, description: &str) -> Classified {
    let text = format!("{subject}\n{subject}\n{description}").to_lowercase();
    let mut kinds: BTreeMap<Kind, f32> = BTreeMap::new();
    let mut sub_kinds: BTreeMap<SubKind, f32> = BTreeMap::new();
    for rule in KIND_RULES {
        let count: usize = rule.keywords.iter().map(|k| hits(&text, k)).sum();
        if count == 0 {
            continue;
        }
        let score = rule.weight * count as f32;
        *kinds.entry(rule.kind).or_default() += score;
        if let Some(sub_kind) = rule.sub_kind {
            *sub_kinds.entry(sub_kind).or_default() += score;
        }
    }
    let total: f32 = kinds.values().sum();
    let kind = best(&kinds)
        .map(|(kind, score)| (kind, score / (total + 1.0)))
        .filter(|(_, confidence)| *confidence >= MIN_CONFIDENCE);
    let sub_kind = kind.and_then(|(kind, _)| {
        let fitting: BTreeMap<SubKind, f32> = sub_kinds
            .iter()
            .filter(|(sub_kind, _)| sub_kind.belongs_to(kind))
            .map(|(s, v)| (*s, *v))
            .collect();
        let total: f32 = fitting.values().sum();
        best(&fitting).map(|(sub_kind, score)| (sub_kind, score / (total + 1.0)))
    });
    let priority = PRIORITY_RULES.iter().find_map(|(priority, keywords)| {
        let count: usize = keywords.iter().map(|k| hits(&text, k)).sum();
        (count > 0).then(|| (*priority, (0.5 + 0.15 * count as f32).min(0.95)))
    });
    Classified {
        kind,
        sub_kind,
        priority,
        language: detect_language(&format!("{subject} {description}")),
    }
}

fn best<K: Copy + Ord>(scores: &BTreeMap<K, f32>) -> Option<(K, f32)> {
    // BTreeMap iterates in key order; a strictly greater score is needed to win, so ties go
    // to the earlier key.
    scores.iter().fold(None, |best, (key, score)| match best {
        Some((_, best_score)) if *score <= best_score => best,
        _ => Some((*key, *score)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Case {
        subject: &'static str,
        description: &'static str,
        kind: Option<Kind>,
        sub_kind: Option<SubKind>,
        priority: Option<Priority>,
        language: &'static str,
    }

    const fn case(
        subject: &'static str,
        description: &'static str,
        kind: Option<Kind>,
        sub_kind: Option<SubKind>,
        priority: Option<Priority>,
        language: &'static str,
    ) -> Case {
        Case {
            subject,
            description,
            kind,
            sub_kind,
            priority,
            language,
        }
    }

    use Kind::*;
    use SubKind::*;

    const CASES: &[Case] = &[
        case(
            "Washing machine won't turn on",
            "Since yesterday my WM-9000 shows nothing on the display and won't turn on at all.",
            Some(TechnicalSupport),
            Some(Malfunction),
            None,
            "en",
        ),
        case(
            "洗衣机无法开机",
            "昨天开始洗衣机无法开机，屏幕显示E3错误代码，请帮忙看看。",
            Some(TechnicalSupport),
            Some(Malfunction),
            None,
            "zh",
        ),
        case(
            "How do I set up Wi-Fi on the air purifier?",
            "I can't find how to connect to my home network, the app keeps asking for pairing.",
            Some(TechnicalSupport),
            Some(Installation),
            None,
            "en",
        ),
        case(
            "请问这款冰箱的容量和尺寸",
            "想了解一下BCD-500型号的容量是多少，尺寸能放进60厘米的位置吗？",
            Some(Inquiry),
            Some(ProductInfo),
            None,
            "zh",
        ),
        case(
            "I want to return the vacuum and get a refund",
            "Bought it last week, it is not what I expected. How do I send it back for a refund?",
            Some(AfterSales),
            Some(Return),
            None,
            "en",
        ),
        case(
            "申请退货退款",
            "买了三天，不想要了，申请七天无理由退货，请尽快退款。",
            Some(AfterSales),
            Some(Return),
            Some(Priority::High),
            "zh",
        ),
        case(
            "Screen needs repair under warranty",
            "The TV screen has a line across it. It is still under warranty, please repair it.",
            Some(AfterSales),
            Some(Repair),
            None,
            "en",
        ),
        case(
            "空调需要上门维修",
            "空调不制冷，请安排师傅上门维修。",
            Some(AfterSales),
            Some(OnSiteVisit),
            None,
            "zh",
        ),
        case(
            "Your agent was rude",
            "I called about my order and the agent was rude and hung up on me. Unacceptable.",
            Some(Complaint),
            Some(ServiceAttitude),
            None,
            "en",
        ),
        case(
            "客服态度很差，我要投诉",
            "打了三次电话，客服态度很差，还直接挂电话。",
            Some(Complaint),
            Some(ServiceAttitude),
            None,
            "zh",
        ),
        case(
            "Package arrived two weeks late",
            "The courier delivered the parcel two weeks late and the box was crushed. Terrible.",
            Some(Complaint),
            Some(Delivery),
            None,
            "en",
        ),
        case(
            "快递送错了",
            "物流太慢，而且包裹送错了地址，非常不满意。",
            Some(Complaint),
            Some(Delivery),
            None,
            "zh",
        ),
        case(
            "Charged twice on my invoice",
            "I was charged twice for order 1234, please look at the invoice. Very disappointed.",
            Some(Complaint),
            Some(Billing),
            None,
            "en",
        ),
        case(
            "Heater started smoking",
            "The heater is smoking and there is a burning smell. Is it dangerous?",
            Some(TechnicalSupport),
            Some(Malfunction),
            Some(Priority::Urgent),
            "en",
        ),
        case(
            "电暖器冒烟了",
            "电暖器插上电后冒烟，有烧焦的味道，很危险！",
            Some(TechnicalSupport),
            Some(Malfunction),
            Some(Priority::Urgent),
            "zh",
        ),
        case(
            "Suggestion for the app",
            "Just wondering if you plan a dark mode, no rush.",
            Some(Inquiry),
            None,
            Some(Priority::Low),
            "en",
        ),
        case("Hello", "Hi there", None, None, None, "en"),
    ];

    #[test]
    fn classifies_a_table_of_real_looking_tickets_in_chinese_and_english() {
        for case in CASES {
            let got = classify(case.subject, case.description);
            let label = case.subject;
            assert_eq!(
                got.kind.map(|k| k.0),
                case.kind,
                "kind of {label:?}: {got:?}"
            );
            assert_eq!(
                got.sub_kind.map(|s| s.0),
                case.sub_kind,
                "sub-kind of {label:?}: {got:?}"
            );
            assert_eq!(
                got.priority.map(|p| p.0),
                case.priority,
                "priority of {label:?}: {got:?}"
            );
            assert_eq!(
                got.language.as_ref().map(AsRef::as_ref),
                Some(case.language),
                "language of {label:?}"
            );
            if let Some((_, confidence)) = got.kind {
                assert!((MIN_CONFIDENCE..1.0).contains(&confidence), "{label:?}");
            }
        }
    }

    #[test]
    fn more_evidence_means_more_confidence() {
        let weak = classify("refund", "");
        let strong = classify("refund", "please refund, I want a refund and return it");
        assert!(strong.kind.unwrap().1 > weak.kind.unwrap().1);
    }

    #[test]
    fn english_keywords_match_whole_words_only() {
        assert_eq!(hits("the bill is wrong", "bill"), 1);
        assert_eq!(hits("billionaire", "bill"), 0);
        assert_eq!(hits("please set up my tv", "set up"), 1);
        assert_eq!(hits("我要退款退款", "退款"), 2);
    }

    #[test]
    fn text_without_letters_has_no_language() {
        assert_eq!(classify("123", "!!!").language, None);
    }
}
