//! Mandarin fillers and stutters, in both recognizer formats.

#![allow(clippy::unwrap_used)]

use asr_postprocess::{Pipeline, Settings};
use serde_json::{Value, json};

/// Whisper output for one Mandarin speaker: each recognizer word with its
/// start and end in seconds.
fn whisper_zh(words: &[(&str, f64, f64)]) -> Value {
    let text: String = words.iter().map(|w| w.0).collect();
    json!({"language": "chinese", "segments": [{
        "id": 0, "start": words[0].1, "end": words[words.len() - 1].2, "text": text,
        "speaker": "SPEAKER_00",
        "words": words.iter().map(|w| json!({"word": w.0, "start": w.1, "end": w.2,
            "probability": 0.9})).collect::<Vec<_>>(),
    }]})
}

fn cleaned(body: &Value) -> String {
    let t = Pipeline::default().process(body, Some("zh")).unwrap();
    t.turns
        .iter()
        .map(|x| x.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn en_and_e_are_removed_wherever_they_stand() {
    let body = whisper_zh(&[
        ("嗯，", 0.0, 0.3),
        ("我们", 0.4, 0.8),
        ("呃", 0.8, 1.0),
        ("下周", 1.0, 1.4),
        ("上线。", 1.4, 1.9),
    ]);
    assert_eq!(cleaned(&body), "我们下周上线。");
}

#[test]
fn nage_set_off_by_a_comma_or_a_pause_is_a_filler() {
    let comma = whisper_zh(&[
        ("那个，", 0.0, 0.4),
        ("预算", 0.5, 0.9),
        ("批了。", 0.9, 1.4),
    ]);
    assert_eq!(cleaned(&comma), "预算批了。");
    let pause = whisper_zh(&[("那个", 0.0, 0.4), ("预算", 1.2, 1.6), ("批了。", 1.6, 2.0)]);
    assert_eq!(cleaned(&pause), "预算批了。");
    let traditional = whisper_zh(&[
        ("那個，", 0.0, 0.4),
        ("預算", 0.5, 0.9),
        ("批了。", 0.9, 1.4),
    ]);
    assert_eq!(cleaned(&traditional), "預算批了。");
}

#[test]
fn nage_as_a_determiner_is_kept() {
    let body = whisper_zh(&[
        ("我", 0.0, 0.2),
        ("看", 0.2, 0.4),
        ("了", 0.4, 0.5),
        ("那个", 0.5, 0.8),
        ("接口。", 0.8, 1.3),
    ]);
    assert_eq!(cleaned(&body), "我看了那个接口。");
    let start = whisper_zh(&[
        ("那个", 0.0, 0.3),
        ("SDK", 0.3, 0.7),
        ("改", 0.7, 0.9),
        ("了。", 0.9, 1.2),
    ]);
    assert_eq!(cleaned(&start), "那个 SDK 改了。");
}

#[test]
fn repeated_jiushi_and_pronouns_collapse_but_reduplication_stays() {
    let body = whisper_zh(&[
        ("就是", 0.0, 0.3),
        ("就是", 0.3, 0.6),
        ("说，", 0.6, 0.9),
        ("我", 1.0, 1.1),
        ("我", 1.1, 1.2),
        ("觉得", 1.2, 1.5),
        ("看看", 1.5, 1.8),
        ("再", 1.8, 1.9),
        ("说，", 1.9, 2.1),
        ("谢谢", 2.2, 2.5),
        ("谢谢。", 2.5, 2.8),
    ]);
    assert_eq!(cleaned(&body), "就是说，我觉得看看再说，谢谢谢谢。");
}

#[test]
fn chinese_turns_without_punctuation_end_with_a_chinese_full_stop() {
    let body = json!({"results": [{"alternatives": [{"words": [
        {"startOffset": "0s", "endOffset": "0.4s", "word": "我们", "speakerLabel": "1"},
        {"startOffset": "0.4s", "endOffset": "0.8s", "word": "开会", "speakerLabel": "1"}]}],
        "languageCode": "cmn-Hans-CN"}]});
    assert_eq!(cleaned(&body), "我们开会。");
}

#[test]
fn mandarin_filler_list_is_configurable() {
    let settings =
        Settings::from_lookup(|name| (name == "ASR_FILLERS_ZH").then(|| "嗯,这个".to_owned()))
            .unwrap();
    let body = whisper_zh(&[
        ("这个，", 0.0, 0.4),
        ("呃", 0.5, 0.7),
        ("方案", 0.7, 1.0),
        ("可以。", 1.0, 1.4),
    ]);
    let t = Pipeline::new(settings).process(&body, Some("zh")).unwrap();
    assert_eq!(t.turns[0].text, "呃方案可以。");
    assert_eq!(t.stats.filler_counts.get("这个"), Some(&1));
}

#[test]
fn mixed_mandarin_english_keeps_spaces_around_english_words() {
    let body = whisper_zh(&[
        ("我们", 0.0, 0.3),
        ("用", 0.3, 0.5),
        (" React", 0.5, 0.9),
        ("做，", 0.9, 1.2),
        ("um,", 1.3, 1.5),
        ("mobile", 1.6, 2.0),
        ("版本。", 2.0, 2.4),
    ]);
    assert_eq!(cleaned(&body), "我们用 React 做，mobile 版本。");
}
