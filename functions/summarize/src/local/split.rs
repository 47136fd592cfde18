//! Sentence units of a cleaned turn. Punctuation decides where the
//! transcript has some; speech recognized without punctuation is cut where
//! a speaker starts a new thought ("so", "okay", "and then", "but", "can
//! we ..."), and whatever is still too long is cut at a clause boundary.

use std::sync::LazyLock;

use regex::Regex;

use super::clean::re;

static SENTENCE_END: LazyLock<Regex> = LazyLock::new(|| re(r"[.!?…]+[\x22')\]]*\s+|[。！？]+"));

const ABBREVIATIONS: [&str; 12] = [
    "mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "vs.", "e.g.", "i.e.", "etc.", "no.", "approx.",
];

/// Split cleaned text into sentences: at sentence punctuation, then
/// unpunctuated stretches at spoken boundaries, then anything still longer
/// than about 40 words at clause boundaries.
pub(crate) fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = 0;
    for m in SENTENCE_END.find_iter(text) {
        let piece = &text[start..m.end()];
        if ends_with_abbreviation(piece) {
            continue;
        }
        out.push(piece.trim().to_owned());
        start = m.end();
    }
    out.push(text[start..].trim().to_owned());
    out.retain(|s| !s.is_empty());
    out.into_iter()
        .flat_map(|s| spoken_units(&s))
        .flat_map(|s| split_run_on(&s))
        .collect()
}

fn ends_with_abbreviation(piece: &str) -> bool {
    let last = piece.split_whitespace().last().unwrap_or("").to_lowercase();
    ABBREVIATIONS.contains(&last.as_str())
}

/// Whether a piece ends the way a punctuated sentence does.
pub(crate) fn is_punctuated(piece: &str) -> bool {
    piece
        .trim_end_matches(['"', '\'', ')', ']'])
        .ends_with(['.', '!', '?', '…', '。', '！', '？'])
}

/// Unpunctuated stretches no longer than this stay whole.
const SPOKEN_WORDS: usize = 12;
/// Fewest words on either side of a spoken cut.
const MIN_UNIT: usize = 5;

/// Cut an unpunctuated stretch before each discourse marker that leaves at
/// least [`MIN_UNIT`] words on both sides. A transcriber's punctuation is
/// trusted: a piece that ends like a sentence is left alone.
fn spoken_units(piece: &str) -> Vec<String> {
    let words: Vec<&str> = piece.split_whitespace().collect();
    if is_punctuated(piece) || words.len() <= SPOKEN_WORDS {
        return vec![piece.to_owned()];
    }
    let keys: Vec<String> = words.iter().map(|w| key(w)).collect();
    let mut out = Vec::new();
    let mut start = 0;
    for j in MIN_UNIT..words.len().saturating_sub(MIN_UNIT - 1) {
        if j - start >= MIN_UNIT && starts_thought(&keys, j) {
            out.push(words[start..j].join(" "));
            start = j;
        }
    }
    out.push(words[start..].join(" "));
    out
}

fn key(word: &str) -> String {
    word.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
        .to_lowercase()
}

/// Words after which "so", "okay" or "right" modify what came before ("not
/// so", "that's okay", "all right") instead of opening something new.
const BOUND_BEFORE: [&str; 24] = [
    "or", "not", "is", "was", "are", "were", "be", "been", "it's", "that's", "think", "hope",
    "guess", "said", "do", "did", "just", "really", "quite", "all", "the", "sounds", "seems",
    "looks",
];

/// Words after which "so" or "right" modify what follows ("so far",
/// "right now") instead of opening something new.
const BOUND_AFTER: [&str; 16] = [
    "far", "much", "many", "long", "that", "on", "to", "now", "away", "here", "there", "after",
    "before", "side", "thing", "one",
];

const WH: [&str; 12] = [
    "what", "how", "where", "why", "when", "who", "which", "if", "whether", "that", "so", "to",
];
const PRONOUNS: [&str; 6] = ["we", "you", "i", "they", "he", "she"];
/// Auxiliaries that open a question when the pronoun follows them ("...
/// the budget can we afford it"). "Is" and "are" are left out: after a
/// noun they are usually its verb ("the main thing is you ...").
const AUXILIARIES: [&str; 9] = [
    "can", "could", "should", "shall", "do", "does", "did", "would", "will",
];

/// Whether word `j` opens a new thought in unpunctuated speech.
fn starts_thought(keys: &[String], j: usize) -> bool {
    let word = keys[j].as_str();
    let before = keys[j - 1].as_str();
    let after = keys.get(j + 1).map_or("", String::as_str);
    match word {
        "so" | "okay" | "ok" | "alright" | "right" => {
            !BOUND_BEFORE.contains(&before) && !BOUND_AFTER.contains(&after)
        }
        "yeah" | "yep" | "anyway" => !matches!(before, "oh" | "said" | "say"),
        "and" => matches!(after, "then" | "so") && !matches!(before, "then"),
        "but" => true,
        "i" => after == "mean",
        aux if AUXILIARIES.contains(&aux) => {
            PRONOUNS.contains(&after)
                && !WH.contains(&before)
                && !PRONOUNS.contains(&before)
                && !AUXILIARIES.contains(&before)
        }
        _ => false,
    }
}

const RUN_ON_WORDS: usize = 40;

fn split_run_on(sentence: &str) -> Vec<String> {
    let words: Vec<&str> = sentence.split_whitespace().collect();
    if words.len() <= RUN_ON_WORDS {
        return vec![sentence.to_owned()];
    }
    let mut out = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for (i, word) in words.iter().enumerate() {
        let boundary = current.len() >= 20
            && (current.last().is_some_and(|w| w.ends_with(','))
                || matches!(*word, "and" | "so" | "but" | "because"));
        let forced = current.len() >= RUN_ON_WORDS - 10;
        if (boundary || forced) && words.len() - i >= 6 {
            out.push(current.join(" "));
            current.clear();
        }
        current.push(word);
    }
    out.push(current.join(" "));
    out
}

/// A question asked without a question mark: an inverted auxiliary ("can
/// we ...", "do you ...") or a question word with its verb ("what do ...",
/// "how much ..."), after any openers.
static ASKS: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)^(?:(?:so|okay|ok|and|but|yeah|um|uh|well|right|then|or)[,.]?\s+)*",
        r"(?:(?:can|could|would|will|shall|should|do|does|did|is|are|was|were|have|",
        r"has|may|might)(?:n't)?\s+(?:i|we|you|they|he|she|it|there|that|this|",
        r"anyone|anybody|everyone|everybody|someone|somebody)\b|(?:what|how|where|",
        r"why|who|which|when)(?:'s|'re|\s+(?:is|are|was|were|do|does|did|can|",
        r"could|would|should|will|about|much|many|long|often|else))\b)"
    ))
});

/// Whether an unpunctuated piece of speech asks something. Punctuated
/// pieces are left to their punctuation.
pub(crate) fn asks(spoken: &str) -> bool {
    !is_punctuated(spoken) && ASKS.is_match(spoken)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_split_on_both_scripts_but_not_on_titles() {
        let parts = sentences("Ask Dr. Patel first. 我們決定了。好嗎？Then ship");
        assert_eq!(
            parts,
            [
                "Ask Dr. Patel first.",
                "我們決定了。",
                "好嗎？",
                "Then ship"
            ]
        );
    }

    #[test]
    fn unpunctuated_turns_split_where_a_new_thought_starts() {
        let parts = sentences(
            "we should probably go with the rubber case because it bounces so the budget \
             works okay and then the buttons go on the back can we afford the speaker",
        );
        assert_eq!(
            parts,
            [
                "we should probably go with the rubber case because it bounces",
                "so the budget works okay",
                "and then the buttons go on the back",
                "can we afford the speaker"
            ]
        );
    }

    #[test]
    fn markers_that_modify_a_neighbour_do_not_split() {
        let text = "we have not decided so far and the remote is right now the thing \
                    that matters and i think so too";
        assert_eq!(sentences(text), [text]);
    }

    #[test]
    fn punctuated_sentences_keep_the_transcribers_boundaries() {
        let text = "It works but the sync conflict handling is still rough so we ship it \
                    behind a flag and then look again.";
        assert_eq!(sentences(text), [text]);
    }

    #[test]
    fn unpunctuated_questions_are_recognized() {
        assert!(asks("so can we put a limit on the import job"));
        assert!(asks("what do we do about the battery"));
        assert!(!asks("what we need is a bigger battery"));
        assert!(!asks("can we put a limit on it."));
    }
}
