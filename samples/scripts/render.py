#!/usr/bin/env python3
"""Render a meeting script (samples/scripts/<name>.txt) as the raw output a
recognizer would give for it, and write samples/<name>.json.

The dialogue in the scripts is written by hand; this only adds what a
recognizer adds: word timings, confidences, diarization labels, and the
JSON shape of Speech-to-Text v2 or Whisper verbose_json. Output is
deterministic (seeded), so re-rendering an unchanged script changes nothing.

Script markup, inside a turn:
  |        a 1.2 s pause (a sentence break for unpunctuated output)
  ||       a 2.6 s pause (long enough to split the turn)
The header's sentence_gap (seconds, "lo-hi") is the pause after a sentence.
  word~    the recognizer was unsure of this word (confidence 0.2-0.45);
           the mark may come before trailing punctuation (word~,)
Mandarin is written with spaces between recognizer words; they are joined
without spaces in transcripts, as the recognizer would.

Usage: python3 samples/scripts/render.py samples/scripts/<name>.txt ...
"""

import json
import random
import re
import sys
from pathlib import Path

HAN = re.compile(r"[\u3400-\u9fff]")
TERMINAL = tuple(".?!。？！")
FILLERS = {"um", "uh", "er", "erm", "ah", "hmm", "嗯", "呃"}


def parse(path):
    header, turns = {}, []
    in_body = False
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line == "---":
            in_body = True
            continue
        if not in_body:
            key, _, value = line.partition(":")
            header[key.strip()] = value.strip()
            continue
        name, _, said = line.partition(":")
        turns.append((name.strip(), said.strip()))
    return header, turns


def is_han(text):
    return bool(HAN.search(text))


def core(word):
    return re.sub(r"^[^\w]+|[^\w]+$", "", word).lower()


class Clock:
    """Word timings: speech rate with jitter, pauses after punctuation."""

    def __init__(self, rng, sentence_gap):
        self.rng = rng
        self.t = 0.6
        self.sentence_gap = sentence_gap

    def word(self, text):
        han = len(HAN.findall(text))
        latin = len(re.sub(r"[^\w]", "", text)) - han
        base = 0.11 + 0.052 * latin + 0.2 * han
        dur = base * self.rng.uniform(0.85, 1.15)
        start = self.t
        end = start + dur
        gap = self.rng.uniform(0.02, 0.09)
        if text.endswith((",", "，", "、")):
            gap += self.rng.uniform(0.12, 0.25)
        elif text.endswith(TERMINAL):
            gap += self.rng.uniform(*self.sentence_gap)
        self.t = end + gap
        return start, end

    def pause(self, seconds):
        self.t += seconds + self.rng.uniform(-0.05, 0.05)

    def between_turns(self):
        self.t += self.rng.uniform(0.2, 0.8)


def confidence(rng, text, unsure):
    if unsure:
        return round(rng.uniform(0.2, 0.45), 3)
    if core(text) in FILLERS:
        return round(rng.uniform(0.55, 0.8), 3)
    return round(rng.uniform(0.8, 0.99), 3)


def bare(text):
    return re.sub(r"^[.,?!;:\"“”]+|[.,?!;:\"“”]+$", "", text)


def names_in(turns):
    """Words capitalized somewhere other than at a sentence start: names,
    which an unpunctuated recognizer still capitalizes."""
    names = set()
    for _, said in turns:
        start = True
        for token in said.split():
            if token in ("|", "||"):
                continue
            word = bare(token.replace("~", ""))
            if not start and word[:1].isupper():
                names.add(word)
            start = token.replace("~", "").endswith(TERMINAL)
    return names


def plain(text, sentence_start, names):
    """What an unpunctuated recognizer writes: no punctuation, lowercase
    except names and "I"."""
    word = bare(text)
    if sentence_start and word not in names and not word.lower().startswith("i'") and word != "I":
        word = word[:1].lower() + word[1:]
    return word


def timed_words(header, turns, rng):
    speakers = {}
    for pair in header["speakers"].split(","):
        name, _, index = pair.strip().partition("=")
        speakers[name.strip()] = int(index)
    punctuated = header.get("punctuated", "yes") == "yes"
    names = names_in(turns)
    lo, _, hi = header.get("sentence_gap", "0.25-0.5").partition("-")
    clock = Clock(rng, (float(lo), float(hi)))
    out = []
    for name, said in turns:
        turn = []
        sentence_start = True
        for token in said.split():
            if token == "||":
                clock.pause(2.6)
                continue
            if token == "|":
                clock.pause(1.2)
                continue
            unsure = "~" in token
            text = token.replace("~", "")
            start, end = clock.word(text)
            shown = text if punctuated else plain(text, sentence_start, names)
            sentence_start = text.endswith(TERMINAL)
            if not shown:
                continue
            turn.append({
                "text": shown,
                "start": start,
                "end": end,
                "confidence": confidence(rng, text, unsure),
                "speaker": speakers[name],
            })
        out.append(turn)
        clock.between_turns()
    return out


CJK_PUNCT = "，。？！、：；"


def tight(c):
    return is_han(c) or c in CJK_PUNCT


def join(words):
    """Join words as the script is written: spaces between Latin words,
    none between Han characters or around CJK punctuation."""
    text = ""
    for w in words:
        glue = text and not (tight(text[-1]) and tight(w[0]))
        if glue and text[-1] not in CJK_PUNCT and w[0] not in CJK_PUNCT:
            text += " "
        text += w
    return text


def chunks(turn, limit):
    """Split a turn into recognizer results/segments at sentence ends."""
    current = []
    for word in turn:
        current.append(word)
        if len(current) >= limit and word["text"].endswith(TERMINAL + ("，",)):
            yield current
            current = []
        elif len(current) >= limit * 2:
            yield current
            current = []
    if current:
        yield current


def secs(value):
    return f"{value:.3f}s"


def speech_v2(header, turns):
    results = []
    language = header["asr_language"]
    for turn in turns:
        for chunk in chunks(turn, 18):
            results.append({
                "alternatives": [{
                    "transcript": join([w["text"] for w in chunk]),
                    "confidence": round(sum(w["confidence"] for w in chunk) / len(chunk), 3),
                    "words": [{
                        "startOffset": secs(w["start"]),
                        "endOffset": secs(w["end"]),
                        "word": w["text"],
                        "confidence": w["confidence"],
                        "speakerLabel": str(w["speaker"]),
                    } for w in chunk],
                }],
                "resultEndOffset": secs(chunk[-1]["end"] + 0.05),
                "languageCode": language,
            })
    billed = f"{int(turns[-1][-1]['end']) + 1}s"
    body = {"results": results, "metadata": {"totalBilledDuration": billed}}
    if header["format"] == "speech-v2-batch":
        body = {
            "results": {
                header["audio_uri"]: {
                    "inlineResult": {"transcript": body},
                    "metadata": {"totalBilledDuration": billed},
                }
            },
            "totalBilledDuration": billed,
        }
    return body


def whisper(header, turns, rng):
    segments = []
    seek = 0
    for turn in turns:
        for chunk in chunks(turn, 22):
            words = [{
                "word": w["text"] if tight(w["text"][0]) else " " + w["text"],
                "start": round(w["start"], 2),
                "end": round(w["end"], 2),
                "probability": w["confidence"],
            } for w in chunk]
            start = words[0]["start"]
            if start - seek / 100 >= 30:
                seek = int(start * 100)
            segments.append({
                "id": len(segments),
                "seek": seek,
                "start": start,
                "end": words[-1]["end"],
                "text": "".join(w["word"] for w in words),
                "temperature": 0.0,
                "avg_logprob": round(rng.uniform(-0.45, -0.12), 4),
                "compression_ratio": round(rng.uniform(1.3, 1.8), 4),
                "no_speech_prob": round(rng.uniform(0.001, 0.04), 4),
                "words": words,
                "speaker": f"SPEAKER_{chunk[0]['speaker'] - 1:02d}",
            })
    return {
        "task": "transcribe",
        "language": header["asr_language"],
        "duration": round(turns[-1][-1]["end"] + 1.4, 2),
        "text": "".join(s["text"] for s in segments),
        "segments": segments,
    }


def render(path):
    path = path.resolve()
    header, turns = parse(path)
    rng = random.Random(int(header.get("seed", "1")))
    words = timed_words(header, turns, rng)
    if header["format"].startswith("speech-v2"):
        raw = speech_v2(header, words)
    else:
        raw = whisper(header, words, rng)
    meeting = {
        "meeting_id": header["meeting_id"],
        "title": header["title"],
        "language": header["language"],
        "started_at": header["started_at"],
        "raw_asr": raw,
    }
    out = path.parent.parent / (path.stem + ".json")
    out.write_text(json.dumps(meeting, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    count = sum(len(t) for t in words)
    print(f"{out}: {len(turns)} turns, {count} words, {words[-1][-1]['end'] / 60:.1f} min")


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        render(Path(arg))
