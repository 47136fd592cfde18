//! Due-date expressions as people say them: "by Friday", "end of month",
//! "next week", "the 15th", "2025-03-01", "下週三之前", "月底".

use std::sync::LazyLock;

use regex::Regex;

const DAY: &str = "(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)";

const MONTHS: [&str; 24] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
];

const ORDINAL_WORDS: [&str; 22] = [
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
    "twentieth",
    "thirtieth",
    "thirty-first",
];

/// Relative deadlines; `{DAY}` and `{COUNT}` are filled in below.
const RELATIVE: [&str; 11] = [
    r"(?:the\s+)?end of (?:the |this |next )?(?:day|week|month|quarter|year|sprint)",
    "eod|eow|eom|today|tonight",
    "tomorrow(?: morning| afternoon| evening| night)?",
    "this (?:morning|afternoon|evening|week|weekend|month|quarter)",
    "next (?:week|month|weekend|meeting|sprint|quarter|time|{DAY})",
    "(?:this |next )?{DAY}(?: morning| afternoon| evening| night)?",
    "(?:in|within) {COUNT} (?:days?|weeks?|months?)",
    "(?:a|one|two|three) weeks? from (?:now|today)",
    "the (?:next|following) (?:meeting|week|day)",
    "before (?:the )?(?:next meeting|launch|deadline|demo|release|review|call|holidays?)",
    "by (?:the )?end of {MONTH}",
];

const COUNT: &str = r"(?:a|one|two|three|four|five|six|\d+|a couple of|a few)";
const CLOCK: &str = concat!(
    r"(?:(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|noon|midnight",
    r"|\d{1,2}(?::\d{2})?)(?:\s*(?:am|pm|a\.m\.|p\.m\.|o'clock))?)"
);

fn alternatives(items: &[&str]) -> String {
    format!("(?:{})", items.join("|"))
}

static ENGLISH: LazyLock<Regex> = LazyLock::new(|| {
    let month = alternatives(&MONTHS);
    let ordinal = format!(
        r"(?:\d{{1,2}}(?:st|nd|rd|th)|{}|twenty-\w+)",
        ORDINAL_WORDS.join("|")
    );
    let relative = alternatives(&RELATIVE)
        .replace("{DAY}", DAY)
        .replace("{COUNT}", COUNT)
        .replace("{MONTH}", &month);
    let dates = alternatives(&[
        &format!(r"{month}\.? {ordinal}"),
        &format!(r"{month}\.? \d{{1,2}}\b"),
        &format!("{ordinal} of {month}"),
        r"\d{4}-\d{2}-\d{2}",
        r"\d{1,2}/\d{1,2}(?:/\d{2,4})?",
    ]);
    let lead = r"(?:(?:by|before|until|till|no later than|on|at|for|due)\s+)?";
    let anchored = format!("(?:(?:by|before|on|until|till) (?:the )?{ordinal})");
    let clock = format!(r"(?:by {CLOCK}(?:\s+(?:on\s+)?(?:{DAY}|today|tomorrow|tonight))?)");
    // Safe: assembled from the literals above, and exercised by the tests.
    Regex::new(&format!(
        r"(?i)\b(?:{clock}|{anchored}|{lead}(?:{relative}|{dates}))\b"
    ))
    .expect("due-date pattern compiles")
});

/// Chinese deadlines; `D` is a weekday digit, `N` a day or month number.
const CHINESE_WHEN: [&str; 12] = [
    "今天|今晚|明天|明早|後天|后天",
    "這週D?|这周D?|本週D?|本周D?",
    "下週D?|下周D?|下星期D?|下禮拜D?|下礼拜D?",
    "週D|周D|星期D|禮拜D|礼拜D",
    "月底|月初|年底|週末|周末",
    "下個月|下个月",
    "下次開會|下次开会",
    "N月N[號号日]",
    "N[號号]",
    "N月底|N月初",
    "年前|年後|年后",
    "這個月|这个月",
];

static CHINESE: LazyLock<Regex> = LazyLock::new(|| {
    let when = alternatives(&CHINESE_WHEN)
        .replace('D', "[一二三四五六日天1-7]")
        .replace('N', r"(?:\d{1,2}|[一二三四五六七八九十]{1,3})");
    // Safe: assembled from the literals above, and exercised by the tests.
    Regex::new(&format!(r"(?:在)?{when}(?:之前|以前|前)?"))
        .expect("Chinese due-date pattern compiles")
});

/// The first due-date expression in `text` and the byte range it covers.
pub(crate) fn find(text: &str) -> Option<(String, std::ops::Range<usize>)> {
    let english = ENGLISH
        .find(text)
        .map(|m| (m.as_str().to_owned(), m.range()));
    let chinese = CHINESE
        .find(text)
        .map(|m| (m.as_str().to_owned(), m.range()));
    match (english, chinese) {
        (Some(e), Some(c)) => Some(if e.1.start <= c.1.start { e } else { c }),
        (e, c) => e.or(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due(text: &str) -> Option<String> {
        find(text).map(|(d, _)| d)
    }

    #[test]
    fn english_expressions_are_found() {
        assert_eq!(
            due("have it merged by Thursday").as_deref(),
            Some("by Thursday")
        );
        assert_eq!(
            due("send it by end of month").as_deref(),
            Some("by end of month")
        );
        assert_eq!(due("call him next week").as_deref(), Some("next week"));
        assert_eq!(due("write it up tomorrow").as_deref(), Some("tomorrow"));
        assert_eq!(due("file it by March 3rd").as_deref(), Some("by March 3rd"));
        assert_eq!(
            due("due 2025-04-01 please").as_deref(),
            Some("due 2025-04-01")
        );
        assert_eq!(
            due("print them by four on Friday").as_deref(),
            Some("by four on Friday")
        );
        assert_eq!(due("finish in two weeks").as_deref(), Some("in two weeks"));
        assert_eq!(due("ship the feature").as_deref(), None);
    }

    #[test]
    fn chinese_expressions_are_found() {
        assert_eq!(
            due("我下週三之前把報告發給大家").as_deref(),
            Some("下週三之前")
        );
        assert_eq!(due("月底前完成").as_deref(), Some("月底前"));
        assert_eq!(due("她明天会更新文档").as_deref(), Some("明天"));
        assert_eq!(due("三月十五号以前交").as_deref(), Some("三月十五号以前"));
    }
}
