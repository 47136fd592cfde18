//! Turning spoken text into written text: fillers, stutters, false starts
//! and discourse markers out; sentences split; contractions spelled out.
//!
//! Everything here works on English and Chinese alike: each rule only
//! matches its own script.

use std::sync::LazyLock;

use regex::{Captures, Regex};

/// Compile a pattern written in this module or in [`super::split`].
pub(super) fn re(pattern: &str) -> Regex {
    // The patterns are literals in this module and covered by its tests, so
    // a failure here is a programming error caught before release.
    Regex::new(pattern).expect("static pattern compiles")
}

static NON_SPEECH: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)\[[^\]]*\]|\{[^}]*\}|<[^>]*>|【[^】]*】|[(（](?:inaudible|unintelligible|laugh\w*|",
        r"crosstalk|noise|music|silence|pause|applause|cough\w*|笑|笑声|笑聲|雜音|杂音|聽不清|",
        r"听不清)[^)）]*[)）]"
    ))
});

/// Fillers always dropped, with the commas that set them off (", um, "
/// leaves one space, not an orphaned comma).
static FILLER_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)(?:,\s*)?\b(?:mm-hmm|mm-hm|uh-huh|uh-oh|u+m+|u+h+m*|e+r+m+|e+r|a+h+|",
        r"h+m+|m+h*m+|huh|basically|literally|honestly|actually|obviously)\b[,.…]*"
    ))
});

/// A contraction a tokenizer split off its word ("we 're", "do n't").
static SPLIT_CONTRACTION: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)(\w) ('(?:s|re|ve|ll|m|d)|n't)\b"));

/// The pronoun "i" as lower-case recognizers write it ("i'll", but not
/// "i.e.").
static LOWER_I: LazyLock<Regex> = LazyLock::new(|| re(r"\bi((?:'|’)(?:m|ll|ve|d|s))?\b(\.\w)?"));

/// "Like" before an amount, where it only hedges ("for like four days"),
/// with the word before it: after "looks" or "something" it compares.
static HEDGED_AMOUNT: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)\b(\w+) like ((?:about |around )?(?:\d|a hundred|a thousand|half|",
        r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|",
        r"fifteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)\b)"
    ))
});

const COMPARING: [&str; 12] = [
    "look",
    "looks",
    "looked",
    "sound",
    "sounds",
    "seem",
    "seems",
    "feel",
    "feels",
    "something",
    "more",
    "just",
];

/// A filler set off by commas on both sides, removed with both commas.
static COMMA_FILLER: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i),\s*(?:you know|i mean|like|you see|kind of|sort of|i guess|so to speak)\s*,\s*")
});

/// A sentence opened and dropped before the real one starts ("It's, the
/// problem is that ...").
static ABANDONED_OPENING: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)^(?:it's|it is|that's|that is|there's|there is|we're|we are|i'm|",
        r"i am|i was|we were|it was|so it's|and it's)\s*,\s+"
    ))
});

/// Fillers that are words elsewhere ("you know the answer", "I like it"),
/// removed only when set off by a comma.
static FILLER_PHRASES: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)(^|[,.;!?]\s*)(?:you know|i mean|like|you see|kind of|sort of|i guess)\s*,\s*")
});

static TRAILING_FILLERS: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i),\s*(?:you know|i mean|like|or something|or whatever|and stuff|i guess)\s*([,.?!]|$)")
});

static TAG_QUESTION: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i),\s*(?:right|yeah|okay|ok|no|you know)\s*\?"));

static HAN_FILLERS: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"[嗯呃額额唔欸誒诶]+[，,、。…]*|(?:啊|喔|哦)[，,…]+|(?:那個|那个|就是|然後|然后|這個|这个|就是說|",
        r"就是说)[，,]+|(?:對|对){2,}[，,。]?"
    ))
});

static SPACE_BEFORE_PUNCT: LazyLock<Regex> = LazyLock::new(|| re(r"\s+([,.;:?!，。；：？！])"));
static PUNCT_RUN: LazyLock<Regex> =
    LazyLock::new(|| re(r"[,;:，、；：]\s*([,;:.?!，。？！、；：])"));
static LEADING_PUNCT: LazyLock<Regex> = LazyLock::new(|| re(r"^[\s,;:.…，、。；：?？!！-]+"));
static SPACES: LazyLock<Regex> = LazyLock::new(|| re(r"\s{2,}"));

/// Discourse markers and hedges that open a spoken sentence and carry
/// nothing in writing. Ambiguous words ("right now", "well done") are only
/// dropped when punctuation follows them.
static OPENERS: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)^(?:(?:so|okay|ok|alright|all right|um|uh|oh|and|but|yeah|yep|yup|",
        r"yes|anyway|also|hey|look|i mean|i think(?: that)?|i guess|you know|",
        r"i feel like|like|thanks|thank you)\b[,.!]?\s*|(?:right|well|now|then|sure|",
        r"fine|good|great|cool|perfect|no|ha|haha|wow|hmm|",
        r"okay then)[,.!]+\s*)"
    ))
});

static HAN_OPENERS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:(?:好|好的|對|对|是|嗯|那|那麼|那么|所以|然後|然后|OK|ok|對啊|对啊|沒錯|没错|好啊)[，,。！]+)+",
    )
});

/// Clean one turn: non-speech marks, fillers, stuttered repeats and false
/// starts out, punctuation tidied. Sentence openers stay (see
/// [`written_sentence`]).
pub(crate) fn clean_turn(text: &str) -> String {
    let text = NON_SPEECH.replace_all(text, " ");
    let text = SPLIT_CONTRACTION.replace_all(&text, "$1$2");
    let text = LOWER_I.replace_all(&text, |c: &Captures<'_>| match c.get(2) {
        Some(_) => c[0].to_owned(),
        None => format!("I{}", c.get(1).map_or("", |m| m.as_str())),
    });
    let text = HEDGED_AMOUNT.replace_all(&text, |c: &Captures<'_>| {
        if COMPARING.contains(&c[1].to_lowercase().as_str()) {
            c[0].to_owned()
        } else {
            format!("{} {}", &c[1], &c[2])
        }
    });
    let text = TAG_QUESTION.replace_all(&text, ".");
    let text = FILLER_WORDS.replace_all(&text, " ");
    let text = COMMA_FILLER.replace_all(&text, " ");
    let text = FILLER_PHRASES.replace_all(&text, "$1");
    let text = TRAILING_FILLERS.replace_all(&text, "$1");
    let text = HAN_FILLERS.replace_all(&text, "");
    let text = drop_false_starts(&text);
    let text = drop_repeats(&text);
    tidy(&text)
}

/// Collapse punctuation left behind by removals.
pub(crate) fn tidy(text: &str) -> String {
    let text = SPACE_BEFORE_PUNCT.replace_all(text, "$1");
    let text = PUNCT_RUN.replace_all(&text, "$1");
    let text = SPACES.replace_all(&text, " ");
    LEADING_PUNCT.replace(text.trim(), "").trim().to_owned()
}

/// A cleaned sentence as it should read in writing: openers off, first
/// letter capital, closing punctuation present.
pub(crate) fn written_sentence(sentence: &str) -> String {
    let mut text = sentence.trim().to_owned();
    loop {
        if KEPT_OPENING.is_match(&text) {
            break;
        }
        let stripped = OPENERS.replace(&text, "");
        let stripped = ABANDONED_OPENING.replace(&stripped, "");
        let stripped = HAN_OPENERS.replace(&stripped, "");
        let stripped = LEADING_PUNCT.replace(&stripped, "").into_owned();
        if stripped == text {
            break;
        }
        text = stripped;
    }
    let text = text.trim_end_matches([',', ';', ':', '，', '、', '；', '：', ' ']);
    finish(capitalize(&drop_dangling_end(text)))
}

/// "So far", "so much": an opener word that belongs to what follows.
static KEPT_OPENING: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)^so (?:far|much|many|long|few|little)\b"));

/// Words a spoken sentence trails off with ("... two hundred euros so",
/// "... the big one I think").
static DANGLING_END: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)(?:[\s,]+(?:so|and|but|or|because|like|I think|I guess|you know|I mean|",
        r"or something|or whatever|and stuff|and everything|yeah))+[.!…]?$"
    ))
});

/// The sentence without the words it trails off with, when enough is left.
fn drop_dangling_end(text: &str) -> String {
    let Some(m) = DANGLING_END.find(text) else {
        return text.to_owned();
    };
    let kept = &text[..m.start()];
    if kept.split_whitespace().count() < 3 {
        return text.to_owned();
    }
    let mark = text
        .trim_end()
        .chars()
        .last()
        .filter(|c| matches!(c, '.' | '!' | '…'));
    mark.map_or_else(|| kept.to_owned(), |c| format!("{kept}{c}"))
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn finish(mut text: String) -> String {
    let ends = text
        .chars()
        .last()
        .is_some_and(|c| matches!(c, '.' | '?' | '!' | '。' | '？' | '！'));
    if !text.is_empty() && !ends {
        let han = text.chars().any(crate::summary::is_han);
        text.push(if han { '。' } else { '.' });
    }
    text
}

/// Drop the abandoned words before a cut-off marked by a trailing hyphen
/// ("I need to- I want to test" reads "I want to test").
fn drop_false_starts(text: &str) -> String {
    let mut words: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
    let mut i = 0;
    while i < words.len() {
        let cut = is_cut_off(&words[i]);
        if !cut {
            i += 1;
            continue;
        }
        let start = clause_start(&words, i);
        let restart = words.get(i + 1).map(|w| normalize(w));
        let from = restart
            .and_then(|r| (start..=i).rev().find(|&j| normalize(&words[j]) == r))
            .unwrap_or_else(|| start.max(i.saturating_sub(2)));
        words.drain(from..=i);
        i = from;
    }
    words.join(" ")
}

fn is_cut_off(word: &str) -> bool {
    matches!(word, "-" | "--" | "—")
        || (word.chars().count() > 1 && (word.ends_with('-') || word.ends_with('—')))
}

/// Index of the first word of the clause holding word `i`.
fn clause_start(words: &[String], i: usize) -> usize {
    (0..i)
        .rev()
        .find(|&j| words[j].ends_with([',', '.', ';', ':', '?', '!']))
        .map_or(0, |j| j + 1)
}

/// Collapse stuttered repeats of one to three words ("the the", "it's,
/// it's", "I'll, I'll"), keeping the last copy. Numbers ("three three")
/// stay, and so does a single content word repeated across a comma ("the
/// flag, flag stays off"), which is more often a list than a stutter.
fn drop_repeats(text: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        out.push(word);
        keys.push(normalize(word));
        for n in (1..=3).rev() {
            let len = keys.len();
            if len >= 2 * n && is_stutter(&out[len - 2 * n..], &keys[len - 2 * n..], n) {
                out.drain(len - 2 * n..len - n);
                keys.drain(len - 2 * n..len - n);
                break;
            }
        }
    }
    out.join(" ")
}

/// Whether `words` (2n of them) are one n-word phrase said twice.
fn is_stutter(words: &[&str], keys: &[String], n: usize) -> bool {
    let (first, second) = keys.split_at(n);
    if first != second || first.iter().any(|k| k.is_empty()) {
        return false;
    }
    if first
        .iter()
        .all(|k| k.chars().all(|c| c.is_ascii_digit()) || is_number_word(k))
    {
        return false;
    }
    let across_comma = words[n - 1].ends_with(',');
    !(n == 1 && across_comma && !super::terms::is_stopword(&first[0]))
}

fn is_number_word(word: &str) -> bool {
    const NUMBERS: [&str; 20] = [
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
        "twelve", "twenty", "thirty", "forty", "fifty", "hundred", "thousand", "point", "zero",
    ];
    NUMBERS.contains(&word)
}

fn normalize(word: &str) -> String {
    word.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
        .to_lowercase()
}

static CONTRACTIONS: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)\b(i|we|you|they|he|she|it|that|there|here|what|who|everything|",
        r"everyone|everybody|nothing|something|someone|somebody|nobody|where|",
        r"how)(?:'|’)(ll|m|re|s|ve|d(?: been| better)?)\b|\b(do|does|did|is|are|",
        r"was|were|has|have|had|should|would|could|must|need)n(?:'|’)t\b|\b(can|",
        r"won)(?:'|’)t\b|\b(wanna|gonna|gotta|kinda|sorta)\b"
    ))
});

/// Spell out contractions and spoken forms ("we'll" -> "we will",
/// "gonna" -> "going to"), as written summaries do.
pub(crate) fn spell_out(text: &str) -> String {
    CONTRACTIONS
        .replace_all(text, |c: &Captures<'_>| expand(c))
        .into_owned()
}

fn expand(c: &Captures<'_>) -> String {
    if let (Some(subject), Some(suffix)) = (c.get(1), c.get(2)) {
        let verb = match suffix.as_str().to_ascii_lowercase().as_str() {
            "ll" => "will",
            "m" => "am",
            "re" => "are",
            "s" => "is",
            "ve" => "have",
            "d been" => "had been",
            "d better" => "had better",
            _ => "would",
        };
        return format!("{} {verb}", subject.as_str());
    }
    if let Some(aux) = c.get(3) {
        return format!("{} not", aux.as_str());
    }
    if let Some(modal) = c.get(4) {
        let spelled = if modal.as_str().eq_ignore_ascii_case("won") {
            "will not"
        } else {
            "cannot"
        };
        return keep_case(modal.as_str(), spelled);
    }
    let spoken = c.get(5).map_or("", |m| m.as_str());
    let spelled = match spoken.to_ascii_lowercase().as_str() {
        "wanna" => "want to",
        "gonna" => "going to",
        "gotta" => "have to",
        "kinda" => "kind of",
        _ => "sort of",
    };
    keep_case(spoken, spelled)
}

fn keep_case(original: &str, replacement: &str) -> String {
    if original.starts_with(|c: char| c.is_uppercase()) {
        capitalize(replacement)
    } else {
        replacement.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fillers_and_stutters_are_removed() {
        let cleaned = clean_turn("So, um, the the big problem is, uh, the crash on, like, login.");
        assert_eq!(cleaned, "So the big problem is the crash on login.");
    }

    #[test]
    fn fillers_between_commas_take_their_commas_along() {
        assert_eq!(
            clean_turn("We found it in, like, an hour."),
            "We found it in an hour."
        );
        assert_eq!(
            clean_turn("Could we, um, put a limit on it?"),
            "Could we put a limit on it?"
        );
        assert_eq!(
            written_sentence("It's, the problem is that nothing stops you"),
            "The problem is that nothing stops you."
        );
    }

    #[test]
    fn repeated_phrases_keep_one_copy() {
        assert_eq!(
            clean_turn("I'll, uh, I'll talk to them."),
            "I'll talk to them."
        );
        assert_eq!(
            clean_turn("that's, that's not something"),
            "that's not something"
        );
    }

    #[test]
    fn numbers_and_listed_nouns_are_not_stutters() {
        assert_eq!(
            clean_turn("behind the flag, flag stays off until three three"),
            "behind the flag, flag stays off until three three"
        );
    }

    #[test]
    fn false_starts_drop_the_abandoned_words() {
        assert_eq!(
            clean_turn("I just need to- I want to test it on the Pixel."),
            "I want to test it on the Pixel."
        );
        assert_eq!(
            clean_turn("So are we- do we want to vote?"),
            "do we want to vote?"
        );
    }

    #[test]
    fn written_sentences_lose_openers_and_gain_a_capital() {
        assert_eq!(
            written_sentence("Okay, so, I think we just move the submission to Tuesday"),
            "We just move the submission to Tuesday."
        );
        assert_eq!(
            written_sentence("Right now the plan has sixty"),
            "Right now the plan has sixty."
        );
    }

    #[test]
    fn lower_case_speech_reads_as_written_text() {
        let cleaned = clean_turn(
            "mm-hmm yeah i'm sure we 're fine it was down for like three days i.e. too long",
        );
        assert_eq!(
            cleaned,
            "yeah I'm sure we're fine it was down for three days i.e. too long"
        );
        assert_eq!(
            written_sentence("yeah so far it looks like two buttons i think"),
            "So far it looks like two buttons."
        );
        assert_eq!(
            written_sentence("but it is two hundred euros so"),
            "It is two hundred euros."
        );
        assert_eq!(clean_turn("{vocalsound} okay <laugh> good"), "okay good");
    }

    #[test]
    fn chinese_fillers_and_openers_are_removed() {
        let cleaned = clean_turn("嗯，那個，我們下週三之前，呃，把報告交出去。");
        assert_eq!(written_sentence(&cleaned), "我們下週三之前，把報告交出去。");
    }

    #[test]
    fn contractions_are_spelled_out() {
        assert_eq!(
            spell_out("We'll ship; I'm sure it's fine, don't worry, we can't wait, gonna go."),
            "We will ship; I am sure it is fine, do not worry, we cannot wait, going to go."
        );
        assert_eq!(
            spell_out("I'd been stuck, I'd rather not"),
            "I had been stuck, I would rather not"
        );
    }
}
