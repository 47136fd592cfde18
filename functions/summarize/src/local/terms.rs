//! Index terms of a sentence: stemmed English content words, and Han
//! character bigrams (Chinese has no spaces, and bigrams match words of
//! two or more characters without a dictionary).

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::summary::is_han;

/// Function words and the vocabulary of talk itself ("yeah", "thing",
/// "gonna"), which say nothing about what a meeting was about.
const STOPWORDS: &str = "a about above after again against all also am an and any are aren't as at \
be because been before being below between both but by can can't cannot could couldn't did didn't \
do does doesn't doing don't down during each few for from further had hadn't has hasn't have \
haven't having he he'd he'll he's her here here's hers herself him himself his how how's i i'd \
i'll i'm i've if in into is isn't it it's its itself let's me more most mustn't my myself no nor \
not of off on once only or other ought our ours ourselves out over own same shan't she she'd \
she'll she's should shouldn't so some such than that that's the their theirs them themselves then \
there there's these they they'd they'll they're they've this those through to too under until up \
very was wasn't we we'd we'll we're we've were weren't what what's when when's where where's which \
while who who's whom why why's will with won't would wouldn't you you'd you'll you're you've your \
yours yourself yourselves yeah yep yup yes okay ok um uh hmm mm oh ah alright right well like \
just really thing things stuff lot lots kind sort mean know think guess get gets got getting go \
goes going gonna wanna gotta want maybe actually basically probably pretty something anything \
everything somebody anybody everyone everybody someone bit little much many way good great cool \
sure thanks thank let us say said says saying okay's also even still though anyway whatever \
cause yeah's now ha haha wow hey look see one ones like's mean's kinda sorta thing's lets \
it'll that'll there'll who'll what'll it'd that'd there'd who'd what'd it've that've";

static STOPWORD_SET: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| STOPWORDS.split_whitespace().collect());

/// Characters that only glue Chinese sentences together; a bigram made of
/// two of them is not a term.
const HAN_FUNCTION: &str = "的了是我你他她它们們这這那就也都在有个個吗嗎呢吧啊和跟说說要会會还還不没沒\
对對好嗯呃一把被给給让讓很到着著过過去来來得地而与與或及并並再又才呀哦喔啦嘛么麼什怎样樣";

/// Whether `word` (lower case) is a stopword.
pub(crate) fn is_stopword(word: &str) -> bool {
    STOPWORD_SET.contains(word)
}

/// The index terms of `text`, in order, with repeats.
pub(crate) fn terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut han: Vec<char> = Vec::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if is_han(c) {
            flush_word(&mut word, &mut out);
            han.push(c);
        } else if c.is_alphanumeric() || (c == '\'' && !word.is_empty()) {
            flush_han(&mut han, &mut out);
            word.extend(c.to_lowercase());
        } else {
            flush_word(&mut word, &mut out);
            flush_han(&mut han, &mut out);
        }
    }
    out
}

fn flush_word(word: &mut String, out: &mut Vec<String>) {
    let w = word.trim_end_matches('\'').replace('’', "'");
    if !w.is_empty()
        && !is_stopword(&w)
        && (w.chars().count() > 1 || w.chars().all(char::is_numeric))
    {
        out.push(stem(&w));
    }
    word.clear();
}

fn flush_han(run: &mut Vec<char>, out: &mut Vec<String>) {
    if run.len() == 1 && !HAN_FUNCTION.contains(run[0]) {
        out.push(run[0].to_string());
    }
    for pair in run.windows(2) {
        if !(HAN_FUNCTION.contains(pair[0]) && HAN_FUNCTION.contains(pair[1])) {
            out.push(pair.iter().collect());
        }
    }
    run.clear();
}

/// A light suffix-stripping stemmer: plurals, -ing, -ed, -ly and a final
/// -e, enough to make "decide", "decided" and "deciding" one term.
pub(crate) fn stem(word: &str) -> String {
    let mut w = word.trim_end_matches("'s").to_owned();
    if w.chars().count() <= 3 || !w.is_ascii() {
        return w;
    }
    if let Some(base) = w.strip_suffix("ies") {
        w = format!("{base}y");
    } else if ["sses", "ches", "shes", "xes", "zes"]
        .iter()
        .any(|e| w.ends_with(e))
    {
        w.truncate(w.len() - 2);
    } else if w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        w.pop();
    }
    for suffix in ["ing", "ed", "ly"] {
        if w.len() >= suffix.len() + 3 && w.ends_with(suffix) {
            w.truncate(w.len() - suffix.len());
            undouble(&mut w);
            break;
        }
    }
    if w.len() > 4 && w.ends_with('e') {
        w.pop();
    }
    w
}

fn undouble(w: &mut String) {
    let bytes = w.as_bytes();
    let n = bytes.len();
    if n >= 2 && bytes[n - 1] == bytes[n - 2] && !matches!(bytes[n - 1], b'l' | b's' | b'z') {
        w.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflections_share_a_stem() {
        assert_eq!(stem("decided"), stem("decide"));
        assert_eq!(stem("fixes"), stem("fix"));
        assert_eq!(stem("shipping"), stem("ship"));
        assert_eq!(stem("batteries"), "battery");
    }

    #[test]
    fn english_terms_skip_stopwords_and_talk() {
        assert_eq!(
            terms("Yeah, so we'll ship the checkout flow on Tuesday."),
            ["ship", "checkout", "flow", "tuesday"]
        );
    }

    #[test]
    fn chinese_terms_are_content_bigrams() {
        assert_eq!(
            terms("我們決定用新版"),
            ["們決", "決定", "定用", "用新", "新版"]
        );
        assert_eq!(terms("是的"), Vec::<String>::new());
    }
}
