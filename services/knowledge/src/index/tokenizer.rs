//! One analyser for Chinese and English in the same field: runs of Han characters are
//! segmented with jieba (search mode, its dictionary loaded once for the process), runs of
//! letters and digits are words; the analyser then lower-cases and stems (English Snowball),
//! which leaves Chinese words untouched.

use std::sync::LazyLock;

use jieba_rs::Jieba;
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, Stemmer, TextAnalyzer, Token, TokenStream, Tokenizer,
};

/// The name the analyser is registered under.
pub const MIXED: &str = "mixed_zh_en";

/// The jieba segmenter with its bundled dictionary, loaded on first use and shared.
static JIEBA: LazyLock<Jieba> = LazyLock::new(Jieba::new);

/// Loads the dictionary now (at start-up), so the first query does not pay for it.
pub fn warm_up() {
    LazyLock::force(&JIEBA);
}

/// The analyser: mixed tokenizer, lower case, long tokens dropped, English stems.
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(MixedTokenizer)
        .filter(RemoveLongFilter::limit(48))
        .filter(LowerCaser)
        .filter(Stemmer::new(Language::English))
        .build()
}

/// True for the Han characters jieba segments.
pub fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// Splits text into Han runs (segmented by jieba) and alphanumeric words.
#[derive(Debug, Clone, Copy, Default)]
pub struct MixedTokenizer;

/// The tokens of one text.
pub struct MixedTokenStream {
    tokens: Vec<Token>,
    index: usize,
}

fn tokens_of(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut position = 0;
    let push = |tokens: &mut Vec<Token>, from: usize, to: usize, position: &mut usize| {
        tokens.push(Token {
            offset_from: from,
            offset_to: to,
            position: *position,
            text: text[from..to].to_owned(),
            position_length: 1,
        });
        *position += 1;
    };
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if is_han(c) {
            let mut end = start;
            while let Some(&(i, c)) = chars.peek() {
                if !is_han(c) {
                    break;
                }
                end = i + c.len_utf8();
                chars.next();
            }
            for word in JIEBA.cut_for_search(&text[start..end], true) {
                push(
                    &mut tokens,
                    start + word.byte_start,
                    start + word.byte_end,
                    &mut position,
                );
            }
        } else if c.is_alphanumeric() {
            let mut end = start;
            while let Some(&(i, c)) = chars.peek() {
                if !c.is_alphanumeric() || is_han(c) {
                    break;
                }
                end = i + c.len_utf8();
                chars.next();
            }
            push(&mut tokens, start, end, &mut position);
        } else {
            chars.next();
        }
    }
    tokens
}

impl Tokenizer for MixedTokenizer {
    type TokenStream<'a> = MixedTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> MixedTokenStream {
        MixedTokenStream {
            tokens: tokens_of(text),
            index: 0,
        }
    }
}

impl TokenStream for MixedTokenStream {
    fn advance(&mut self) -> bool {
        if self.index < self.tokens.len() {
            self.index += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens[self.index - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.index - 1]
    }
}

/// The analysed terms of `text` with their byte ranges.
pub fn terms(text: &str) -> Vec<(String, usize, usize)> {
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        let token = stream.token();
        out.push((token.text.clone(), token.offset_from, token.offset_to));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        terms(text).into_iter().map(|(t, _, _)| t).collect()
    }

    #[test]
    fn chinese_is_segmented_into_words() {
        let w = words("洗衣机漏水怎么办");
        assert!(w.contains(&"洗衣机".to_owned()), "{w:?}");
        assert!(w.contains(&"漏水".to_owned()), "{w:?}");
    }

    #[test]
    fn english_is_lower_cased_and_stemmed() {
        assert_eq!(words("Leaking LEAKS"), ["leak", "leak"]);
    }

    #[test]
    fn mixed_text_keeps_both_and_byte_offsets() {
        let t = terms("WiFi路由器 reset");
        assert_eq!(t[0], ("wifi".to_owned(), 0, 4));
        assert!(t.iter().any(|(w, _, _)| w == "路由器"));
        assert_eq!(t.last().unwrap().0, "reset");
    }
}
