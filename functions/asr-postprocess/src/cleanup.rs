//! Filler and stutter removal.
//!
//! Tokens are never deleted here, only marked with why they were removed,
//! so that statistics and tests can account for every word. The passes run
//! in an order that lets each one see through the previous: single-word
//! fillers first ("I, um, I think" becomes a plain repetition), then
//! repetitions, then filler phrases (which need their neighbours settled),
//! then repetitions once more.

use std::collections::{HashMap, HashSet};

use crate::settings::{LanguageRules, Settings};
use crate::token::{self, Removal, Token};

/// The longest repeated phrase, in tokens, that counts as a stutter.
const MAX_REPEAT: usize = 4;

/// Real words that look like a drawn-out filler ("err on the side of
/// caution" is not "er").
const NOT_FILLERS: &[&str] = &["err"];

/// Words people double on purpose ("no, no", "sorry, sorry", "very, very"):
/// a comma or a filler between the two does not make them a stutter.
const EMPHATIC: &[&str] = &[
    "no", "yes", "yeah", "very", "really", "so", "okay", "ok", "right", "well", "sorry", "thanks",
    "please", "wait", "go", "bye", "oh", "ha", "hey", "now", "come", "more", "much",
];

/// Words after which a comma stays even when the filler it set off goes:
/// "Okay, um, so" reads "Okay, so".
const DISCOURSE: &[&str] = &[
    "okay",
    "ok",
    "so",
    "well",
    "yes",
    "yeah",
    "right",
    "no",
    "alright",
    "sure",
    "now",
    "anyway",
    "actually",
    "honestly",
    "first",
    "second",
    "third",
    "also",
    "basically",
    "oh",
];

/// Words that start a new clause: a comma before them marks a restart
/// ("it's, um, it's still rough"), so it stays.
const CLAUSE_STARTS: &[&str] = &[
    "i", "i'm", "i'd", "i'll", "i've", "we", "we're", "we'd", "we'll", "we've", "you", "you're",
    "they", "they're", "he", "she", "it", "it's", "that's", "there's", "let's",
];

/// Soft punctuation replaced when a sentence end moves onto a token.
const SOFT_ENDINGS: &[char] = &[',', ';', ':', '-', '—', '，', '；', '：', '、'];

/// Filler and repetition rules compiled from [`Settings`].
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    /// Matching key of a one-word filler -> the entry as configured.
    singles: HashMap<String, String>,
    /// Multi-word fillers as matching keys, longest first.
    phrases: Vec<(Vec<String>, String)>,
    repeat_latin: HashSet<String>,
    repeat_han: HashSet<String>,
    remove_repeats: bool,
    filler_pause_ms: u64,
    turn_pause_ms: u64,
}

impl Rules {
    pub(crate) fn new(settings: &Settings) -> Self {
        let mut rules = Rules {
            singles: HashMap::new(),
            phrases: Vec::new(),
            repeat_latin: HashSet::new(),
            repeat_han: HashSet::new(),
            remove_repeats: settings.remove_repeats,
            filler_pause_ms: settings.filler_pause_ms,
            turn_pause_ms: settings.turn_pause_ms,
        };
        for language in [&settings.english, &settings.chinese] {
            rules.add_language(language);
        }
        rules
            .phrases
            .sort_by_key(|(keys, _)| std::cmp::Reverse(keys.len()));
        rules
    }

    fn add_language(&mut self, language: &LanguageRules) {
        for entry in &language.fillers {
            let keys: Vec<String> = token::split_word(entry)
                .iter()
                .map(|piece| match_key(&token::core_of(piece)))
                .filter(|k| !k.is_empty())
                .collect();
            let name = entry.to_lowercase();
            match keys.len() {
                0 => {}
                1 => {
                    // "umm" and "um" share a key; the first entry names it.
                    self.singles.entry(keys[0].clone()).or_insert(name);
                }
                _ => self.phrases.push((keys, name)),
            }
        }
        for word in &language.repeatable {
            let core = token::core_of(word);
            if core.chars().any(token::is_han) {
                self.repeat_han.insert(core);
            } else if !core.is_empty() {
                self.repeat_latin.insert(core);
            }
        }
    }
}

/// The key a token is matched on: the core with runs of one letter
/// collapsed, so "ummm" and "uhhh" match "um" and "uh".
fn match_key(core: &str) -> String {
    let mut out = String::with_capacity(core.len());
    for c in core.chars() {
        if !out.ends_with(c) || !c.is_alphabetic() || token::is_han(c) {
            out.push(c);
        }
    }
    out
}

/// Mark fillers and stutters in `tokens` as removed.
pub(crate) fn clean(tokens: &mut [Token], rules: &Rules) {
    remove_single_fillers(tokens, rules);
    if rules.remove_repeats {
        remove_repeats(tokens, rules);
    }
    remove_filler_phrases(tokens, rules);
    if rules.remove_repeats {
        remove_repeats(tokens, rules);
    }
    carry_sentence_ends(tokens);
    drop_filler_commas(tokens);
    settle_pauses(tokens);
}

/// Give each kept token the longest silence since the previous kept one, so
/// that removing "uh" from "during, uh, the" does not read as a long pause.
fn settle_pauses(tokens: &mut [Token]) {
    let mut longest = 0;
    for token in tokens.iter_mut() {
        longest = longest.max(token.pause_before_ms);
        if token.is_kept() {
            token.pause_before_ms = longest;
            longest = 0;
        }
    }
}

fn remove_single_fillers(tokens: &mut [Token], rules: &Rules) {
    for token in tokens.iter_mut().filter(|t| t.is_kept()) {
        if NOT_FILLERS.contains(&token.core.as_str()) {
            continue;
        }
        if let Some(entry) = rules.singles.get(&match_key(&token.core)) {
            token.removed = Some(Removal::Filler {
                entry: entry.clone(),
                first: true,
            });
        }
    }
}

fn kept_indices(tokens: &[Token]) -> Vec<usize> {
    (0..tokens.len()).filter(|&i| tokens[i].is_kept()).collect()
}

/// Whether `b` continues `a`'s speech: same speaker, no turn-length pause.
fn continues(a: &Token, b: &Token, rules: &Rules) -> bool {
    a.speaker == b.speaker && b.start_ms.saturating_sub(a.end_ms) < rules.turn_pause_ms
}

fn remove_repeats(tokens: &mut [Token], rules: &Rules) {
    let kept = kept_indices(tokens);
    let mut p = 0;
    while p < kept.len() {
        match repeat_at(tokens, &kept[p..], rules) {
            Some(n) => {
                for &i in &kept[p..p + n] {
                    tokens[i].removed = Some(Removal::Repeat);
                }
                p += n;
            }
            None => p += 1,
        }
    }
}

/// The length of a stutter starting at `run[0]`, if one does.
fn repeat_at(tokens: &[Token], run: &[usize], rules: &Rules) -> Option<usize> {
    if is_cut_off(tokens, run, rules) {
        return Some(1);
    }
    (1..=MAX_REPEAT).find(|&n| {
        if run.len() < 2 * n {
            return false;
        }
        let window: Vec<&Token> = run[..2 * n].iter().map(|&i| &tokens[i]).collect();
        let connected = window.windows(2).all(|w| continues(w[0], w[1], rules));
        let same = (0..n).all(|k| window[k].core == window[n + k].core);
        let open = !window[..n].iter().any(|t| t.ends_sentence());
        let allowed = repeatable(&window[..n], rules)
            || (n == 1 && is_repair(tokens, run[0], run[1]) && !window[0].is_han());
        connected && same && open && allowed
    })
}

/// "about, um, about" and "is, is": a word said again after a comma or a
/// filler is a repair, whatever the word, unless people double it on
/// purpose.
fn is_repair(tokens: &[Token], first: usize, second: usize) -> bool {
    let set_off = tokens[first].text.ends_with(',')
        || tokens[first + 1..second]
            .iter()
            .any(|t| matches!(t.removed, Some(Removal::Filler { .. })));
    set_off && !EMPHATIC.contains(&tokens[first].core.as_str())
}

/// A word broken off and restarted: "wh- what".
fn is_cut_off(tokens: &[Token], run: &[usize], rules: &Rules) -> bool {
    let [first, second, ..] = run else {
        return false;
    };
    let (a, b) = (&tokens[*first], &tokens[*second]);
    a.text.ends_with(['-', '—'])
        && !a.core.is_empty()
        && b.core.len() > a.core.len()
        && b.core.starts_with(&a.core)
        && continues(a, b, rules)
}

fn repeatable(phrase: &[&Token], rules: &Rules) -> bool {
    let han = phrase.iter().filter(|t| t.is_han()).count();
    if han == phrase.len() {
        let joined: String = phrase.iter().map(|t| t.core.as_str()).collect();
        return rules.repeat_han.contains(&joined);
    }
    if han > 0 {
        return false;
    }
    match phrase {
        [one] => rules.repeat_latin.contains(&one.core),
        _ => phrase.iter().any(|t| rules.repeat_latin.contains(&t.core)),
    }
}

fn remove_filler_phrases(tokens: &mut [Token], rules: &Rules) {
    if rules.phrases.is_empty() {
        return;
    }
    let kept = kept_indices(tokens);
    let mut p = 0;
    while p < kept.len() {
        let found = rules
            .phrases
            .iter()
            .find(|(keys, _)| phrase_at(tokens, &kept, p, keys, rules));
        match found {
            Some((keys, name)) => {
                for (k, &i) in kept[p..p + keys.len()].iter().enumerate() {
                    tokens[i].removed = Some(Removal::Filler {
                        entry: name.clone(),
                        first: k == 0,
                    });
                }
                p += keys.len();
            }
            None => p += 1,
        }
    }
}

/// Whether the filler phrase `keys` starts at `kept[p]` and is set off from
/// its neighbours by punctuation, a pause or a turn boundary on both sides.
fn phrase_at(tokens: &[Token], kept: &[usize], p: usize, keys: &[String], rules: &Rules) -> bool {
    let n = keys.len();
    let Some(span) = kept.get(p..p + n) else {
        return false;
    };
    let matches = span
        .iter()
        .zip(keys)
        .all(|(&i, key)| match_key(&tokens[i].core) == *key);
    let joined = span
        .windows(2)
        .all(|w| continues(&tokens[w[0]], &tokens[w[1]], rules));
    if !matches || !joined {
        return false;
    }
    let first = &tokens[span[0]];
    let last = &tokens[span[n - 1]];
    let before = p.checked_sub(1).map(|q| &tokens[kept[q]]);
    let after = kept.get(p + n).map(|&i| &tokens[i]);
    let open = before.is_none_or(|b| {
        !continues(b, first, rules) || b.ends_with_punctuation() || pause(b, first, rules)
    });
    let close = if last.text.ends_with(['?', '？']) {
        false
    } else {
        last.ends_with_punctuation()
            || after.is_none_or(|a| !continues(last, a, rules) || pause(last, a, rules))
    };
    open && close
}

fn pause(a: &Token, b: &Token, rules: &Rules) -> bool {
    b.start_ms.saturating_sub(a.end_ms) >= rules.filler_pause_ms
}

/// A removed token that ended a sentence hands its full stop (or question
/// mark) to the word before it: "we ship, um." reads "we ship."
fn carry_sentence_ends(tokens: &mut [Token]) {
    let mut last_kept: Option<usize> = None;
    for i in 0..tokens.len() {
        if tokens[i].is_kept() {
            last_kept = Some(i);
            continue;
        }
        let Some(k) = last_kept else { continue };
        if tokens[k].speaker != tokens[i].speaker || !tokens[i].ends_sentence() {
            continue;
        }
        if tokens[k].ends_sentence() {
            continue;
        }
        let ending = sentence_ending(&tokens[i].text, tokens[k].is_han());
        let target = &mut tokens[k].text;
        let trimmed = target.trim_end_matches(SOFT_ENDINGS).len();
        target.truncate(trimmed);
        target.push_str(&ending);
    }
}

/// "but, uh, roughly" reads "but roughly": the comma was only there to set
/// the filler off. It stays where it does more: after a capitalized word
/// ("Marcus, um, the fix" is an address), after an opener ("Okay, um, so"),
/// before a restarted clause ("is, um, it's"), and where a repetition was
/// removed too (the comma may belong to the repeated words).
fn drop_filler_commas(tokens: &mut [Token]) {
    let mut last_kept: Option<usize> = None;
    let (mut filler, mut repeat) = (false, false);
    for i in 0..tokens.len() {
        match &tokens[i].removed {
            Some(Removal::Filler { .. }) => filler = true,
            Some(Removal::Repeat) => repeat = true,
            None => {
                let next_starts_clause = CLAUSE_STARTS.contains(&tokens[i].core.as_str());
                if let Some(k) = last_kept.filter(|_| filler && !repeat && !next_starts_clause)
                    && tokens[k].speaker == tokens[i].speaker
                {
                    drop_comma(&mut tokens[k]);
                }
                last_kept = Some(i);
                (filler, repeat) = (false, false);
            }
        }
    }
}

fn drop_comma(token: &mut Token) {
    let lowercase = !token.text.chars().any(char::is_uppercase);
    if lowercase && token.text.ends_with(',') && !DISCOURSE.contains(&token.core.as_str()) {
        token.text.pop();
    }
}

/// The sentence-ending characters at the end of `text`, in the style of the
/// script they are moving onto.
fn sentence_ending(text: &str, han: bool) -> String {
    let tail: String = text
        .chars()
        .rev()
        .take_while(|c| token::TERMINALS.contains(c))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    tail.chars()
        .map(|c| match (han, c) {
            (true, '.') => '。',
            (true, '?') => '？',
            (true, '!') => '！',
            (false, '。') => '.',
            (false, '？') => '?',
            (false, '！') => '!',
            (_, c) => c,
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::input::RawWord;
    use crate::token::{join, tokenize};

    /// Words spoken back to back, 300 ms each, by one speaker; "|" marks a
    /// one-second pause before the next word.
    fn tokens_of(text: &str) -> Vec<Token> {
        let mut t = 0;
        let mut words = Vec::new();
        for w in text.split_whitespace() {
            if w == "|" {
                t += 1000;
                continue;
            }
            words.push(RawWord {
                text: w.into(),
                start_ms: t,
                end_ms: t + 300,
                confidence: None,
                speaker: None,
            });
            t += 300;
        }
        let speakers = vec!["S1".to_owned(); words.len()];
        tokenize(&words, &speakers)
    }

    fn cleaned_with(text: &str, settings: &Settings) -> String {
        let mut tokens = tokens_of(text);
        clean(&mut tokens, &Rules::new(settings));
        join(
            tokens
                .iter()
                .filter(|t| t.is_kept())
                .map(|t| t.text.as_str()),
        )
    }

    fn cleaned(text: &str) -> String {
        cleaned_with(text, &Settings::default())
    }

    #[test]
    fn english_fillers_go_and_their_sentence_end_stays() {
        assert_eq!(cleaned("Um, so we, uh, ship it, um."), "so we ship it.");
        assert_eq!(cleaned("Ummm I think hmmm yes"), "I think yes");
    }

    #[test]
    fn legitimate_lookalikes_are_kept() {
        let text = "I like it, so we should err on the side of caution. Like I said.";
        assert_eq!(cleaned(text), text);
    }

    #[test]
    fn stutters_collapse_but_fluent_doubles_stay() {
        assert_eq!(cleaned("I I think the the plan"), "I think the plan");
        assert_eq!(cleaned("we should we should ship"), "we should ship");
        assert_eq!(cleaned("I, um, I mean it"), "I mean it");
        assert_eq!(
            cleaned("I know that that is very very true, no no"),
            "I know that that is very very true, no no"
        );
        assert_eq!(cleaned("the wh- what happened"), "the what happened");
    }

    #[test]
    fn repairs_after_a_comma_or_filler_collapse_for_any_word() {
        assert_eq!(
            cleaned("It's still about, er, about twelve percent"),
            "It's still about twelve percent"
        );
        assert_eq!(cleaned("A week is, is fine"), "A week is fine");
        assert_eq!(
            cleaned("Sorry, sorry. No, no, it's fine"),
            "Sorry, sorry. No, no, it's fine"
        );
    }

    #[test]
    fn commas_that_only_set_off_a_filler_go() {
        assert_eq!(
            cleaned("instead of, uh, taking down checkout"),
            "instead of taking down checkout"
        );
        assert_eq!(cleaned("Okay, um, so we start"), "Okay, so we start");
        assert_eq!(
            cleaned("Marcus, uh, the fix is in"),
            "Marcus, the fix is in"
        );
        assert_eq!(
            cleaned("On-call is, um, it's not good"),
            "On-call is, it's not good"
        );
        assert_eq!(
            cleaned("Thanks all, this was, um, this was long"),
            "Thanks all, this was long"
        );
    }

    #[test]
    fn repeats_across_sentences_are_kept() {
        assert_eq!(cleaned("It was. It was."), "It was. It was.");
    }

    #[test]
    fn mandarin_fillers_and_stutters_go() {
        assert_eq!(
            cleaned("嗯，那个，我们我们下周上线吧。"),
            "我们下周上线吧。"
        );
        assert_eq!(cleaned("呃就是就是说这个方案不行"), "就是说这个方案不行");
    }

    #[test]
    fn nage_as_a_determiner_is_kept() {
        assert_eq!(cleaned("我要那个方案"), "我要那个方案");
        assert_eq!(cleaned("那个那个方案可以"), "那个方案可以");
        assert_eq!(cleaned("谢谢谢谢，看看金额"), "谢谢谢谢，看看金额");
    }

    #[test]
    fn nage_before_a_pause_is_a_filler() {
        assert_eq!(cleaned("那个 | 我们开始吧"), "我们开始吧");
    }

    #[test]
    fn phrase_fillers_need_punctuation_or_a_pause_around_them() {
        let mut settings = Settings::default();
        settings
            .english
            .fillers
            .extend(["you know".to_owned(), "I mean".to_owned()]);
        assert_eq!(
            cleaned_with("It's, you know, hard.", &settings),
            "It's, hard."
        );
        assert_eq!(
            cleaned_with("I mean, we could try.", &settings),
            "we could try."
        );
        assert_eq!(
            cleaned_with("Do you know the answer?", &settings),
            "Do you know the answer?"
        );
        assert_eq!(
            cleaned_with("That's what I mean.", &settings),
            "That's what I mean."
        );
        assert_eq!(
            cleaned_with("It works, you know?", &settings),
            "It works, you know?"
        );
    }

    #[test]
    fn phrase_fillers_are_off_by_default() {
        assert_eq!(cleaned("It's, you know, hard."), "It's, you know, hard.");
    }

    #[test]
    fn repeats_can_be_switched_off() {
        let settings = Settings {
            remove_repeats: false,
            ..Settings::default()
        };
        assert_eq!(cleaned_with("I I think", &settings), "I I think");
    }
}
