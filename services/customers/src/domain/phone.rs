//! Phone numbers to E.164 (`+8613800138000`).
//!
//! Accepted: international numbers written with `+` or the `00` international prefix, with
//! spaces, hyphens, dots, slashes and brackets, a `(0)` trunk marker, and full-width digits
//! (`＋８６ １３８…`); and Chinese mobile numbers written nationally (`138 0013 8000`), since
//! they cannot be mistaken for anything else. Any other national number is refused: without
//! its country code it is ambiguous.

use super::values::PhoneNumber;

/// Country calling codes of two digits (ITU-T E.164 assignments). Codes starting with 1 or
/// 7 have one digit; every other code has three.
const TWO_DIGIT_CODES: &[&str] = &[
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47",
    "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65",
    "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
];

impl PhoneNumber {
    /// `raw` as an E.164 number, or why it cannot be one.
    pub(crate) fn parse(raw: &str) -> Result<Self, String> {
        normalise(raw).map(Self::trusted)
    }
}

/// `raw` as E.164 text, or why it cannot be one.
fn normalise(raw: &str) -> Result<String, String> {
    let text: String = raw.trim().chars().map(half_width).collect();
    if text.is_empty() {
        return Err("must not be empty".into());
    }
    let text = text.replace("(0)", "");
    let mut digits = String::with_capacity(text.len());
    let mut plus = false;
    for (index, c) in text.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if index == 0 => plus = true,
            ' ' | '-' | '.' | '(' | ')' | '/' => {}
            _ => return Err(format!("has an unexpected character `{c}`")),
        }
    }
    let international = if plus {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_owned()
    } else if is_chinese_mobile(&digits) {
        format!("86{digits}")
    } else if digits.starts_with("86") && is_chinese_mobile(&digits[2..]) {
        digits
    } else {
        return Err(
            "must include the country code (`+49 151 1234 5678`, `0049…`); only Chinese mobile numbers are accepted without one".into(),
        );
    };
    check_international(&international)?;
    Ok(format!("+{international}"))
}

/// Folds full-width digits, plus and spaces (common in Chinese input) to ASCII.
fn half_width(c: char) -> char {
    match c {
        '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
        '＋' => '+',
        '－' => '-',
        '（' => '(',
        '）' => ')',
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// A Chinese mobile number without its country code: 11 digits, `1[3-9]…`.
fn is_chinese_mobile(national: &str) -> bool {
    let bytes = national.as_bytes();
    bytes.len() == 11 && bytes[0] == b'1' && (b'3'..=b'9').contains(&bytes[1])
}

/// Checks the digits after `+`: a known shape of country code and a plausible length, with
/// stricter checks for China and the North American plan.
fn check_international(digits: &str) -> Result<(), String> {
    if digits.is_empty() {
        return Err("has no digits".into());
    }
    if digits.starts_with('0') {
        return Err("a country code never starts with 0".into());
    }
    if !(8..=15).contains(&digits.len()) {
        return Err("must have 8 to 15 digits with the country code".into());
    }
    let code_len = if digits.starts_with('1') || digits.starts_with('7') {
        1
    } else if TWO_DIGIT_CODES.contains(&&digits[..2]) {
        2
    } else {
        3
    };
    let (code, national) = digits.split_at(code_len);
    if national.len() < 4 {
        return Err("the number after the country code is too short".into());
    }
    match code {
        "86" => check_chinese(national),
        "1" if national.len() != 10 || national.starts_with(['0', '1']) => {
            Err("a North American number has 10 digits after +1, starting with 2 to 9".into())
        }
        _ => Ok(()),
    }
}

fn check_chinese(national: &str) -> Result<(), String> {
    if national.starts_with('0') {
        return Err("drop the leading 0 of the area code after +86".into());
    }
    if national.starts_with('1') && !national.starts_with("10") {
        if is_chinese_mobile(national) {
            Ok(())
        } else {
            Err("a Chinese mobile number has 11 digits starting with 13 to 19".into())
        }
    } else if (9..=11).contains(&national.len()) {
        Ok(())
    } else {
        Err("a Chinese landline number has 9 to 11 digits after +86".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_mobile_numbers_in_every_common_format_become_one_e164_number() {
        for written in [
            "138 0013 8000",
            "13800138000",
            "138-0013-8000",
            "+86 138-0013-8000",
            "+86 138 0013 8000",
            "+8613800138000",
            "008613800138000",
            "0086 138 0013 8000",
            "8613800138000",
            "＋８６ １３８ ００１３ ８０００",
        ] {
            assert_eq!(
                PhoneNumber::parse(written).as_deref(),
                Ok("+8613800138000"),
                "{written}"
            );
        }
    }

    #[test]
    fn international_numbers_are_normalised() {
        let cases = [
            ("+49 (0)151 1234 5678", "+4915112345678"),
            ("0049 151 12345678", "+4915112345678"),
            ("+1 (415) 555-2671", "+14155552671"),
            ("+44 20 7946 0958", "+442079460958"),
            ("+39 06 1234 5678", "+390612345678"),
            ("+86 (0)10 6552 9988", "+861065529988"),
            ("+852 2123 4567", "+85221234567"),
            ("+33 1.23.45.67.89", "+33123456789"),
        ];
        for (written, e164) in cases {
            assert_eq!(
                PhoneNumber::parse(written).as_deref(),
                Ok(e164),
                "{written}"
            );
        }
    }

    #[test]
    fn ambiguous_or_malformed_numbers_are_refused() {
        for bad in [
            "",
            "0151 1234 5678",
            "555-2671",
            "+86 138 0013 800",
            "+86 010 6552 9988",
            "+1 015 555 2671",
            "+0 123 456 789",
            "+49 151 abc",
            "1+49151",
            "+1234567890123456",
            "12345",
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
