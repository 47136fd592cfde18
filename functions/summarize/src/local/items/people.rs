//! Who is who: which capitalised words are people, and which person each
//! diarization label (`S1`, `SPEAKER_02`) is, inferred from how people
//! address each other ("Leo, what does that mean?" answered by S4 makes
//! S4 Leo).

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;

use super::re;
use crate::local::Sentence;
use crate::local::due;

/// A person's name in English text: a capitalised word or two, optionally
/// after a title.
pub(super) const NAME: &str =
    r"(?:(?:Doctor|Dr\.|Professor|Prof\.|Mr\.|Mrs\.|Ms\.) )?[A-Z][a-z]+(?: [A-Z][a-z]+)?";

/// Capitalised words that are not people.
const NOT_NAMES: &str = "I We You They He She It This That These Those There Here The A An So \
And But Or If When Then What Who Why How Okay OK Ok Yeah Yes No Maybe Everyone Everybody Someone \
Somebody Nobody Let Let's Can Could Would Should Will Do Does Did Is Are Was Were Great Good Cool \
Perfect Thanks Thank Sure Right Well Now Also Just Oh Hey Alright Fine Monday Tuesday Wednesday \
Thursday Friday Saturday Sunday January February March April May June July August September \
October November December Team Everything Nothing Something Anything Please Once After Before \
Since Because Although Both Each All Any Some Most Another Other Which Where Next Last First \
Second Third Today Tomorrow Tonight Sounds Agreed Actually Basically Honestly Anyway Um Uh Hmm Mm \
Wait Sorry Look Again Only Even Still Yep Yup Nope Ha Wow Exactly Definitely Totally Absolutely \
Really Folks Guys Meanwhile Decision Good Bye Hi Hello Sir Madam Doctor Professor Mr Mrs Ms Dr";

static NOT_NAME_SET: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| NOT_NAMES.split_whitespace().collect());

const TITLES: [&str; 7] = ["Doctor", "Dr", "Professor", "Prof", "Mr", "Mrs", "Ms"];

/// Common Chinese surnames (simplified and traditional): a two- or
/// three-character word that starts with one is taken for a name.
const SURNAMES: &str = "王李张張刘劉陈陳杨楊黄黃赵趙吴吳周徐孙孫马馬朱胡郭何高林罗羅郑鄭梁谢謝宋唐\
许許韩韓冯馮邓鄧曹彭曾肖蕭田董袁潘于蒋蔣蔡余杜叶葉程苏蘇魏吕呂丁任沈姚卢盧姜崔钟鍾谭譚陆陸汪范範\
金石廖贾賈夏韦韋付方白邹鄒孟熊秦邱江尹薛闫閆段雷侯龙龍史陶黎贺賀顾顧毛郝龚龔邵万萬钱錢严嚴覃武戴莫\
孔向汤湯欧歐";

/// Words that start with a surname character but are not names.
const NOT_NAMES_ZH: &str = "周一 周二 周三 周四 周五 周六 周日 周末 週一 週二 週三 週四 週五 週六 週日 \
週末 方面 方便 方案 方式 方法 高兴 高興 马上 馬上 万一 萬一 林林 于是 於是 何时 何時 向来 向來 白天 金额 \
金額 程序 石头 雷达 毛病 龙头 江湖 黄金 黃金 时间 時間 高级 高級 张开 付款 付费 付費 任何 任务 任務 \
田地 许多 許多 余额 餘額 陆续 陸續 夏天 江南 史上 严重 嚴重 孔子 汤匙 欧洲 歐洲 范围 範圍 钱包 錢包 \
丁点 程度 高度 曾经 曾經 方向 杜绝 何况 何況 朱红 马虎 于此";

/// Whether a capitalised phrase can be a person ("Priya", "Doctor Patel").
pub(super) fn looks_like_name(candidate: &str) -> bool {
    let words: Vec<&str> = candidate.split_whitespace().collect();
    let titled = words.len() == 2 && TITLES.contains(&words[0].trim_end_matches('.'));
    let rest = if titled { &words[1..] } else { &words[..] };
    !rest.is_empty()
        && rest
            .iter()
            .all(|w| !NOT_NAME_SET.contains(w.trim_end_matches('.')))
}

/// Whether a run of Han characters is a Chinese personal name.
pub(super) fn looks_like_chinese_name(candidate: &str) -> bool {
    let n = candidate.chars().count();
    (2..=3).contains(&n)
        && candidate
            .chars()
            .next()
            .is_some_and(|c| SURNAMES.contains(c))
        && !NOT_NAMES_ZH
            .split_whitespace()
            .any(|w| candidate.starts_with(w))
        && due::find(candidate).is_none()
}

/// Characters that, after a two-character name, begin the next word
/// rather than end a three-character name ("陈静周五之前" is 陈静).
const AFTER_NAME: &str =
    "周週下明今后後在会會负負来來去要把说說的是和跟也都就先再已你您能可这這那月星礼禮负跟给給";

/// The Chinese name at the start of `text`, if there is one: a known name
/// first, else two or three characters starting with a surname.
pub(super) fn chinese_name_prefix(text: &str, known: &HashSet<String>) -> Option<String> {
    let han: Vec<char> = text
        .chars()
        .take_while(|c| crate::summary::is_han(*c))
        .take(3)
        .collect();
    let candidate = |n: usize| (han.len() >= n).then(|| han[..n].iter().collect::<String>());
    for n in [3, 2] {
        if let Some(name) = candidate(n).filter(|c| known.contains(c)) {
            return Some(name);
        }
    }
    if han.len() == 3
        && !AFTER_NAME.contains(han[2])
        && let Some(name) = candidate(3).filter(|c| looks_like_chinese_name(c))
    {
        return Some(name);
    }
    candidate(2).filter(|c| looks_like_chinese_name(c))
}

/// Whether a speaker label names a person (`Priya`), not a diarization
/// slot (`S1`, `SPEAKER_00`, `Speaker 2`).
pub(crate) fn is_person_label(label: &str) -> bool {
    static SLOT: LazyLock<Regex> = LazyLock::new(|| {
        re(r"(?i)^(?:s|spk|speaker|spkr|participant|person|unknown|guest)?[\s_-]*\d*$")
    });
    !SLOT.is_match(label.trim())
}

/// The people of one meeting.
#[derive(Debug, Default)]
pub(crate) struct People {
    /// Speaker label -> name, for labels that are diarization slots.
    names: HashMap<String, String>,
    /// Everyone known by name.
    known: HashSet<String>,
    /// Every word seen in lower case; a "name" seen in lower case
    /// ("production", "two") is an ordinary word.
    lower: HashSet<String>,
}

impl People {
    /// Learn who is who from `sentences`.
    pub(crate) fn infer(sentences: &[Sentence]) -> Self {
        let mut people = People {
            lower: lower_words(sentences),
            ..People::default()
        };
        people.known = sentences
            .iter()
            .filter_map(|s| s.speaker.clone())
            .filter(|l| is_person_label(l))
            .collect();
        let votes = address_votes(sentences, &people);
        people
            .known
            .extend(votes.keys().map(|(_, name)| name.clone()));
        people.names = assign(votes);
        people.known.extend(people.names.values().cloned());
        people
    }

    /// Whether `candidate` can be a person of this meeting: it looks like
    /// a name and is never written in lower case.
    pub(crate) fn plausible(&self, candidate: &str) -> bool {
        if candidate.chars().any(crate::summary::is_han) {
            return looks_like_chinese_name(candidate) || self.known.contains(candidate);
        }
        looks_like_name(candidate)
            && candidate
                .split_whitespace()
                .all(|w| !self.lower.contains(&w.to_lowercase()))
    }

    /// Whether `name` was addressed or identified as a person.
    pub(crate) fn is_known(&self, name: &str) -> bool {
        self.known.contains(name)
    }

    /// The person named at the start of `text` (Chinese, or a Latin name
    /// followed by Chinese), if any.
    pub(crate) fn name_prefix(&self, text: &str) -> Option<String> {
        static LATIN: LazyLock<Regex> = LazyLock::new(|| re(r"^([A-Z][a-z]+)\b"));
        if let Some(c) = LATIN.captures(text) {
            return self.plausible(&c[1]).then(|| c[1].to_owned());
        }
        chinese_name_prefix(text, &self.known)
    }

    /// Everyone known by name.
    pub(crate) fn known(&self) -> &HashSet<String> {
        &self.known
    }

    /// Take `name` for `label` when neither is spoken for: a diarization
    /// slot the address patterns left unnamed, and a name no slot has.
    pub(crate) fn adopt(&mut self, label: &str, name: &str) -> bool {
        let free = !is_person_label(label)
            && !self.names.contains_key(label)
            && !self.names.values().any(|n| n == name);
        if free {
            self.names.insert(label.to_owned(), name.to_owned());
            self.known.insert(name.to_owned());
        }
        free
    }

    /// The name to report for a speaker label: the person it was found to
    /// be, the label itself when it is a name or when nobody was found.
    pub(crate) fn name_of(&self, label: &str) -> String {
        self.names
            .get(label)
            .cloned()
            .unwrap_or_else(|| label.to_owned())
    }
}

fn lower_words(sentences: &[Sentence]) -> HashSet<String> {
    sentences
        .iter()
        .flat_map(|s| s.spoken.split(|c: char| !c.is_alphanumeric() && c != '\''))
        .filter(|w| w.chars().next().is_some_and(char::is_lowercase))
        .map(str::to_owned)
        .collect()
}

static ADDRESS_START: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"^(?:(?:so|okay|ok|and|right|yes|yeah|um|uh|hmm|well)[,.]? )*({NAME})(?:,| (?:can|could|would|will|do|did|are|is|what|how|when|where|why|you|your|any|anything|have|thoughts)\b)"
    ))
});

static ADDRESS_END: LazyLock<Regex> =
    LazyLock::new(|| re(&format!(r"(\w+)(?:,)? ({NAME})[?.!]*$")));

/// A reply that opens by naming whoever spoke before ("Thanks, Leo",
/// "Yeah Priya that's safer").
static REPLY_NAMING: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"^(?i:(?:uh |um )?(?:thanks|thank you|thank you so much|cheers|yeah|yes|right|okay|ok|sure|no|exactly|good point)),? ({NAME})\b"
    ))
});

static SELF_NAMED: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"\b(?:I'm|I am|this is|my name is|it's) ({NAME})\b[.,!]|我是(\p{{Han}}{{2,3}}|[A-Z][a-z]+)"
    ))
});

static ADDRESS_ZH: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(?:(?:好|对|對|嗯|那|OK|ok)[，,]?)*(\p{Han}{2,3}|[A-Z][a-z]+)[，,](.*)$")
});

/// Words after which a name at the end of a sentence is an object ("ask
/// Marcus"), not someone addressed.
const NOT_VOCATIVE_BEFORE: [&str; 22] = [
    "to", "with", "from", "for", "and", "or", "ask", "tell", "than", "by", "about", "at", "call",
    "email", "ping", "cc", "of", "on", "in", "like", "thank", "thanks",
];

type Votes = HashMap<(String, String), i32>;

/// Votes for "label L is person N", from each time someone is addressed.
fn address_votes(sentences: &[Sentence], people: &People) -> Votes {
    let mut votes: Votes = HashMap::new();
    let mut denied: HashSet<(String, String)> = HashSet::new();
    for (i, s) in sentences.iter().enumerate() {
        let Some(speaker) = s.speaker.clone() else {
            continue;
        };
        for (name, whom) in addressed(sentences, i, people) {
            denied.insert((speaker.clone(), name.clone()));
            let Some((label, weight)) = whom else {
                continue;
            };
            *votes.entry((label, name)).or_default() += weight;
        }
    }
    votes.retain(|k, _| !denied.contains(k));
    votes
}

/// Names addressed or claimed in sentence `i`, each with the label it
/// points at and the weight of the evidence.
fn addressed(
    sentences: &[Sentence],
    i: usize,
    people: &People,
) -> Vec<(String, Option<(String, i32)>)> {
    let s = &sentences[i];
    let next = other_turn(sentences, i, 1);
    let previous = other_turn(sentences, i, -1);
    let first_of_turn = i == 0 || sentences[i - 1].turn != s.turn;
    let last_of_turn = sentences.get(i + 1).is_none_or(|n| n.turn != s.turn);
    let mut out = Vec::new();
    if let Some(c) = SELF_NAMED.captures(&s.text) {
        let name = c.get(1).or(c.get(2)).map_or("", |m| m.as_str()).to_owned();
        if people.plausible(&name) || looks_like_chinese_name(&name) {
            out.push((name, s.speaker.clone().map(|l| (l, 3))));
            return out;
        }
    }
    if let Some(c) = REPLY_NAMING.captures(&s.spoken) {
        let name = c[1].to_owned();
        if first_of_turn && people.plausible(&name) {
            out.push((name, previous.map(|l| (l, 1))));
        }
        return out;
    }
    for name in vocatives(s, people) {
        let asks = s.question || last_of_turn || asks_for_something(&s.text);
        let whom = if asks {
            next.clone().map(|l| (l, 2))
        } else if first_of_turn {
            previous.clone().map(|l| (l, 1))
        } else {
            None
        };
        out.push((name, whom));
    }
    out
}

fn asks_for_something(text: &str) -> bool {
    static ASK: LazyLock<Regex> = LazyLock::new(|| {
        re(concat!(
            r"(?i)\b(?:can|could|would|will) you\b|\bwhat\b|\bhow\b|\bwhere\b|",
            r"\bwhen\b|\bdo you\b|你|呢|吗|嗎|吧"
        ))
    });
    ASK.is_match(text)
}

fn vocatives(s: &Sentence, people: &People) -> Vec<String> {
    let mut out = Vec::new();
    for text in [&s.spoken, &s.text] {
        if let Some(c) = ADDRESS_START.captures(text) {
            out.push(c[1].to_owned());
        }
        if let Some(c) = ADDRESS_END.captures(text)
            && !NOT_VOCATIVE_BEFORE.contains(&c[1].to_lowercase().as_str())
        {
            out.push(c[2].to_owned());
        }
        if let Some(c) = ADDRESS_ZH.captures(text) {
            out.push(c[1].to_owned());
        }
    }
    out.retain(|n| people.plausible(n));
    out.sort();
    out.dedup();
    out
}

/// The speaker of the nearest turn before (`-1`) or after (`1`) sentence
/// `i`'s turn that a different speaker holds.
fn other_turn(sentences: &[Sentence], i: usize, step: isize) -> Option<String> {
    let me = sentences[i].speaker.as_deref()?;
    let mut j = i as isize;
    loop {
        j += step;
        let other = sentences.get(usize::try_from(j).ok()?)?;
        if other.turn == sentences[i].turn {
            continue;
        }
        return match other.speaker.as_deref() {
            Some(label) if label != me => Some(label.to_owned()),
            _ => None,
        };
    }
}

/// Greedy one-to-one assignment, strongest evidence first; slots only
/// (a label that is already a name keeps it).
fn assign(votes: Votes) -> HashMap<String, String> {
    let mut ranked: Vec<((String, String), i32)> = votes
        .into_iter()
        .filter(|((label, _), v)| *v >= 1 && !is_person_label(label))
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut names = HashMap::new();
    let mut taken = HashSet::new();
    for ((label, name), _) in ranked {
        if names.contains_key(&label) || taken.contains(&name) {
            continue;
        }
        taken.insert(name.clone());
        names.insert(label, name);
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::sentences_of;
    use crate::transcript::Transcript;

    #[test]
    fn an_answered_question_names_the_next_speaker() {
        let s = sentences_of(&Transcript::from_text(
            "S1: So where are we on the checkout crash, Marcus?\n\
             S2: I found it. It is fixed by Friday.\n\
             S1: Leo what does that mean for submission.\n\
             S3: Review takes a day.\n\
             S1: Thanks Leo. Marcus, can you put the builds back?\n\
             S2: Yes.",
        ));
        let people = People::infer(&s);
        assert_eq!(people.name_of("S2"), "Marcus");
        assert_eq!(people.name_of("S3"), "Leo");
        assert_eq!(people.name_of("S1"), "S1");
    }

    #[test]
    fn chinese_address_names_the_next_speaker() {
        let s = sentences_of(&Transcript::from_text(
            "S1：刘洋，你先说一下 Android 这边的情况吧。\nS3：好，上周的崩溃率是百分之零点八。\n\
             S1：陈静，iOS 那边呢？\nS4：主要是推送。\nS1：刘洋，你周四之前能修好吗？\nS3：可以。",
        ));
        let people = People::infer(&s);
        assert_eq!(people.name_of("S3"), "刘洋");
        assert_eq!(people.name_of("S4"), "陈静");
    }

    #[test]
    fn words_seen_in_lower_case_are_not_names() {
        let s = sentences_of(&Transcript::from_text(
            "A: Production has to be on 1.28.\nB: We keep production on reserved instances.",
        ));
        let people = People::infer(&s);
        assert!(!people.plausible("Production"));
        assert!(people.plausible("Ravi"));
        assert!(looks_like_chinese_name("王磊") && !looks_like_chinese_name("周三"));
    }
}
