//! The demo content `aftercare seed` writes: two regions, their people, products and the
//! words customers use. Plain data, no I/O.

/// A region of the demo, with the service centre that handles it.
#[derive(Debug)]
pub struct Region {
    /// The region code (`cn-east`).
    pub code: &'static str,
    /// Its IANA time zone.
    pub time_zone: &'static str,
    /// The language its customers write in.
    pub language: &'static str,
    /// The service centre.
    pub centre: &'static str,
    /// Public holidays of the demo year, `YYYY-MM-DD` and a name.
    pub holidays: &'static [(&'static str, &'static str)],
    /// Opening hours, Monday to Friday, `HH:MM`.
    pub hours: (&'static str, &'static str),
}

/// The demo's two regions.
pub const REGIONS: [Region; 2] = [
    Region {
        code: "cn-east",
        time_zone: "Asia/Shanghai",
        language: "zh-CN",
        centre: "shanghai",
        holidays: &[
            ("2027-01-01", "元旦"),
            ("2027-02-06", "春节"),
            ("2027-02-07", "春节"),
            ("2027-02-08", "春节"),
            ("2027-04-05", "清明节"),
            ("2027-05-01", "劳动节"),
            ("2027-10-01", "国庆节"),
            ("2027-10-02", "国庆节"),
            ("2027-10-03", "国庆节"),
        ],
        hours: ("09:00", "18:00"),
    },
    Region {
        code: "eu-west",
        time_zone: "Europe/Berlin",
        language: "en",
        centre: "berlin",
        holidays: &[
            ("2027-01-01", "New Year's Day"),
            ("2027-03-26", "Good Friday"),
            ("2027-03-29", "Easter Monday"),
            ("2027-05-01", "Labour Day"),
            ("2027-10-03", "German Unity Day"),
            ("2027-12-25", "Christmas Day"),
            ("2027-12-26", "Boxing Day"),
        ],
        hours: ("08:00", "17:00"),
    },
];

/// Every demo address ends with this; a customer or agent without it is not demo data.
pub const DEMO_DOMAIN: &str = "demo.aftercare.example";

/// Product lines: code, English name, Chinese name.
pub const PRODUCT_LINES: [(&str, &str, &str); 3] = [
    ("washing-machine", "Washing machines", "洗衣机"),
    ("refrigerator", "Refrigerators", "冰箱"),
    ("air-conditioner", "Air conditioners", "空调"),
];

/// Customers of cn-east: (given name, family name).
pub const CN_CUSTOMERS: [(&str, &str); 12] = [
    ("芳", "王"),
    ("伟", "李"),
    ("娜", "张"),
    ("强", "刘"),
    ("敏", "陈"),
    ("静", "杨"),
    ("磊", "赵"),
    ("洋", "黄"),
    ("艳", "周"),
    ("勇", "吴"),
    ("军", "徐"),
    ("杰", "孙"),
];

/// Customers of eu-west: (given name, family name).
pub const EU_CUSTOMERS: [(&str, &str); 12] = [
    ("Anna", "Schmidt"),
    ("Lukas", "Müller"),
    ("Sophie", "Weber"),
    ("Jonas", "Fischer"),
    ("Emma", "Becker"),
    ("Paul", "Wagner"),
    ("Mia", "Hoffmann"),
    ("Felix", "Koch"),
    ("Lena", "Richter"),
    ("Noah", "Klein"),
    ("Clara", "Wolf"),
    ("Ben", "Neumann"),
];

/// Staff of a region: (display name, roles as agent-role numbers, skill levels per product
/// line in `PRODUCT_LINES` order, maximum concurrent tickets).
pub struct Staff {
    /// The name shown.
    pub display_name: &'static str,
    /// The mailbox's local part.
    pub mailbox: &'static str,
    /// Whether they lead the region's team.
    pub lead: bool,
    /// Whether they are a technical specialist.
    pub specialist: bool,
    /// Skill level (1–5) per product line, 0 for none.
    pub levels: [i32; 3],
    /// Concurrent tickets they take.
    pub capacity: i32,
}

/// The staff of cn-east.
pub const CN_STAFF: [Staff; 5] = [
    Staff {
        display_name: "陈晓明",
        mailbox: "chen.xiaoming",
        lead: true,
        specialist: false,
        levels: [4, 3, 3],
        capacity: 6,
    },
    Staff {
        display_name: "林婷",
        mailbox: "lin.ting",
        lead: false,
        specialist: false,
        levels: [3, 2, 0],
        capacity: 8,
    },
    Staff {
        display_name: "郭峰",
        mailbox: "guo.feng",
        lead: false,
        specialist: true,
        levels: [5, 4, 2],
        capacity: 5,
    },
    Staff {
        display_name: "何丽",
        mailbox: "he.li",
        lead: false,
        specialist: false,
        levels: [2, 3, 4],
        capacity: 8,
    },
    Staff {
        display_name: "马超",
        mailbox: "ma.chao",
        lead: false,
        specialist: false,
        levels: [0, 2, 5],
        capacity: 8,
    },
];

/// The staff of eu-west.
pub const EU_STAFF: [Staff; 5] = [
    Staff {
        display_name: "Katrin Vogel",
        mailbox: "katrin.vogel",
        lead: true,
        specialist: false,
        levels: [3, 4, 3],
        capacity: 6,
    },
    Staff {
        display_name: "Tobias Braun",
        mailbox: "tobias.braun",
        lead: false,
        specialist: false,
        levels: [3, 3, 1],
        capacity: 8,
    },
    Staff {
        display_name: "Marta Nowak",
        mailbox: "marta.nowak",
        lead: false,
        specialist: true,
        levels: [5, 3, 4],
        capacity: 5,
    },
    Staff {
        display_name: "Oliver Hart",
        mailbox: "oliver.hart",
        lead: false,
        specialist: false,
        levels: [2, 4, 2],
        capacity: 8,
    },
    Staff {
        display_name: "Julia Lang",
        mailbox: "julia.lang",
        lead: false,
        specialist: false,
        levels: [1, 2, 4],
        capacity: 8,
    },
];

/// What customers write: (product line index, subject, description).
pub const CN_REQUESTS: [(usize, &str, &str); 6] = [
    (
        0,
        "洗衣机底部漏水",
        "洗衣机用了两年，最近每次洗衣服底部都漏水，地上一大滩水，请派师傅上门维修。",
    ),
    (
        0,
        "洗衣机脱水时噪音很大",
        "脱水的时候声音特别大，机器还会晃动，是不是哪里坏了？",
    ),
    (
        1,
        "冰箱不制冷",
        "冰箱冷藏室温度降不下来，食物都坏了，能尽快安排维修吗？",
    ),
    (
        1,
        "冰箱门关不严",
        "冰箱门密封条好像老化了，门关不紧，想问一下怎么更换密封条。",
    ),
    (
        2,
        "空调遥控器失灵",
        "空调遥控器按了没有反应，换了电池也不行，请问怎么处理？",
    ),
    (
        2,
        "空调安装预约",
        "新买的空调想预约安装，请问最快什么时候可以上门？",
    ),
];

/// What customers write in eu-west: (product line index, subject, description).
pub const EU_REQUESTS: [(usize, &str, &str); 6] = [
    (
        0,
        "Washing machine leaking",
        "My washing machine leaks water from underneath on every wash. Please send a technician.",
    ),
    (
        0,
        "Drum does not spin",
        "The drum stopped spinning during the rinse cycle and the clothes are still wet.",
    ),
    (
        1,
        "Fridge not cooling",
        "The fridge compartment stays warm although the freezer works. Food is spoiling.",
    ),
    (
        1,
        "How do I set the fridge temperature?",
        "Which setting should I use for the fridge in summer? The manual is not clear.",
    ),
    (
        2,
        "Air conditioner error E4",
        "The air conditioner shows error E4 and switches off after a few minutes.",
    ),
    (
        2,
        "Invoice for my air conditioner",
        "I need a copy of the invoice for the air conditioner I bought last month.",
    ),
];

/// Published articles: (language, product line index, title, body).
pub const ARTICLES: [(&str, usize, &str, &str); 6] = [
    (
        "zh-CN",
        0,
        "洗衣机底部漏水的处理方法",
        "洗衣机底部漏水，常见原因是排水管松动、进水管接口老化或门封破损。\
         先关闭水龙头并断电，检查排水管和进水管接口是否拧紧，清洁门封上的异物。\
         如果仍然漏水，请预约师傅上门维修。",
    ),
    (
        "zh-CN",
        1,
        "冰箱不制冷怎么办",
        "冰箱不制冷时，请先检查温度设置和电源，确认门封完好、冷凝器不积灰，\
         并保持冰箱背面通风。若压缩机不启动，请联系售后服务。",
    ),
    (
        "zh-CN",
        2,
        "空调遥控器失灵的排查步骤",
        "空调遥控器失灵时，请更换电池，检查遥控器发射头是否被遮挡，\
         对准空调接收窗再试。仍不工作时可用应急按钮开机并联系客服。",
    ),
    (
        "en",
        0,
        "How to fix a leak under the washing machine",
        "A washing machine leaking from underneath usually has a loose drain hose, a worn \
         inlet hose seal or a damaged door gasket. Turn off the water and the power, tighten \
         the hoses and clean the gasket. If it still leaks, book a technician visit.",
    ),
    (
        "en",
        1,
        "Fridge not cooling: what to check first",
        "Check the thermostat setting and the power supply, make sure the door seal closes \
         and the condenser coils are clean, and leave space behind the fridge for air. If the \
         compressor does not start, contact after-sales service.",
    ),
    (
        "en",
        2,
        "Air conditioner error E4",
        "Error E4 means the outdoor unit overheated. Clean the filters, clear anything \
         blocking the outdoor unit and restart. If the error returns, book a service visit.",
    ),
];

/// What satisfied customers say, by language.
pub const PRAISE: [(&str, &str); 2] = [
    ("zh-CN", "师傅上门很准时，很快就修好了，非常满意"),
    (
        "en",
        "Quick and friendly help, the technician fixed it on the first visit.",
    ),
];

/// What dissatisfied customers say, by language.
pub const COMPLAINTS: [(&str, &str); 2] = [
    ("zh-CN", "师傅上门很晚，态度也不好，非常不满意"),
    (
        "en",
        "Nobody called me back for a week and the repair still failed.",
    ),
];
