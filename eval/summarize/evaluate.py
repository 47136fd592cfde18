"""Compare tasklane's local summarizer with classic extractive summarizers.

Every system summarizes the same meeting transcripts (one utterance per
line, no speaker names) under the same word budget, and is scored with
ROUGE-1/2/L F1 (Porter stemming, as rouge-score computes it) against the
human-written reference summary of each meeting.

Baselines, from sumy: TextRank, LexRank, Luhn, plus Lead (the first N
words). sumy normally splits text with NLTK's punkt model, which has to be
downloaded; this script builds sumy's document model itself with a regex
sentence splitter, so nothing is fetched. The baselines get sumy's English
stemmer and stop words.

Every system gets the same string. `--variant asr` first renders each
transcript the way a recognizer without punctuation would deliver it
(lower case, punctuation dropped, `Speaker:` labels kept), so that the
effect of missing sentence punctuation on every system can be measured on
any data set.

Usage: evaluate.py --bin PATH [--words 250[,150,...]] [--data DIR] [--meetings a,b]
                   [--variant asis|asr]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

from rouge_score import rouge_scorer
from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
from sumy.nlp.stemmers import Stemmer
from sumy.summarizers.lex_rank import LexRankSummarizer
from sumy.summarizers.luhn import LuhnSummarizer
from sumy.summarizers.text_rank import TextRankSummarizer
from sumy.utils import get_stop_words

METRICS = ("rouge1", "rouge2", "rougeL")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['-])*", re.UNICODE)


class RegexTokenizer:
    """The two methods sumy calls on a tokenizer, without NLTK data."""

    language = "english"

    @staticmethod
    def to_sentences(paragraph: str) -> tuple[str, ...]:
        return tuple(s.strip() for s in SENTENCE_END.split(paragraph) if s.strip())

    @staticmethod
    def to_words(sentence: str) -> tuple[str, ...]:
        return tuple(WORD.findall(sentence))


def count_words(text: str) -> int:
    return sum(1 for token in text.split() if any(c.isalnum() for c in token))


def truncate(text: str, words: int) -> str:
    return " ".join(text.split()[:words])


def document(transcript: str) -> ObjectDocumentModel:
    tokenizer = RegexTokenizer()
    sentences = [
        Sentence(s, tokenizer)
        for line in transcript.splitlines()
        for s in tokenizer.to_sentences(line)
    ]
    return ObjectDocumentModel((Paragraph(sentences),))


def within_budget(words: int):
    """A sentences-count callable for sumy: walk sentences from the best
    rated down, keep each one that still fits in the budget."""

    def pick(ranked):
        kept, used = [], 0
        for info in ranked:
            n = count_words(str(info.sentence))
            if used + n <= words:
                kept.append(info)
                used += n
        return kept

    return pick


def sumy_summary(summarizer_class, transcript: str, words: int) -> str:
    summarizer = summarizer_class(Stemmer("english"))
    summarizer.stop_words = get_stop_words("english")
    chosen = summarizer(document(transcript), within_budget(words))
    return " ".join(str(s) for s in chosen)


def lead_summary(transcript: str, words: int) -> str:
    return truncate(" ".join(transcript.split()), words)


def local_summary(binary: str, transcript: str, words: int) -> str:
    result = subprocess.run(
        [binary, "--words", str(words)],
        input=transcript,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)["summary"]


SYSTEMS = {
    "tasklane-local": None,
    "TextRank": TextRankSummarizer,
    "LexRank": LexRankSummarizer,
    "Luhn": LuhnSummarizer,
    "Lead": "lead",
}


def summarize(system: str, binary: str, transcript: str, words: int) -> str:
    kind = SYSTEMS[system]
    if kind is None:
        text = local_summary(binary, transcript, words)
    elif kind == "lead":
        text = lead_summary(transcript, words)
    else:
        text = sumy_summary(kind, transcript, words)
    return truncate(text, words)


LABEL = re.compile(r"^([A-Z][\w .'-]{0,39}):\s*")
MARKUP = re.compile(r"\{[^}]*\}|\[[^\]]*\]|<[^>]*>")
SPLIT_CONTRACTION = re.compile(r"\s+('(?:s|re|ve|ll|m|d)|n't)\b", re.IGNORECASE)
NOT_SPOKEN = re.compile(r"[^\w\s'-]|(?<!\w)['-]|['-](?!\w)")


def as_asr(transcript: str) -> str:
    """The transcript as lower-case, unpunctuated recognizer output."""
    lines = []
    for line in transcript.splitlines():
        label = LABEL.match(line)
        prefix = label.group(0) if label else ""
        said = MARKUP.sub(" ", line[len(prefix):])
        said = SPLIT_CONTRACTION.sub(r"\1", said).lower()
        words = NOT_SPOKEN.sub(" ", said).split()
        if words:
            lines.append(prefix + " ".join(words))
    return "\n".join(lines) + "\n"


VARIANTS = {"asis": lambda text: text, "asr": as_asr}


def meetings(data: Path, only: set[str]) -> list[tuple[str, str, str]]:
    found = []
    for path in sorted(data.glob("*.txt")):
        if path.name.endswith(".ref.txt") or (only and path.stem not in only):
            continue
        reference = path.with_name(path.stem + ".ref.txt")
        if not reference.exists():
            sys.exit(f"{path} has no reference summary {reference.name}")
        found.append((path.stem, path.read_text(), reference.read_text()))
    if len(found) < 1:
        sys.exit(f"no meetings in {data}")
    return found


def evaluate(
    binary: str, data: Path, words: int, only: set[str], variant: str, systems: list[str]
) -> dict[str, dict[str, list[float]]]:
    scorer = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True)
    scores = {s: {m: [] for m in METRICS} for s in systems}
    lengths = {s: [] for s in systems}
    rows = []
    for name, transcript, reference in meetings(data, only):
        transcript = VARIANTS[variant](transcript)
        row = [name]
        for system in systems:
            summary = summarize(system, binary, transcript, words)
            lengths[system].append(count_words(summary))
            result = scorer.score(reference, summary)
            for metric in METRICS:
                scores[system][metric].append(result[metric].fmeasure)
            row.append(result["rouge2"].fmeasure)
        rows.append(row)
    print_tables(f"{words} ({data.name}, {variant})", rows, scores, lengths)
    return scores


def print_tables(words, rows, scores, lengths) -> None:
    systems = list(scores)
    print(f"\n## Word budget {words}\n")
    print("ROUGE-2 F1 per meeting:\n")
    print("| meeting | " + " | ".join(systems) + " |")
    print("| --- |" + " ---: |" * len(systems))
    for row in rows:
        print(f"| {row[0]} | " + " | ".join(f"{v:.3f}" for v in row[1:]) + " |")
    print("\nF1 over all meetings (median / mean):\n")
    header = " | ".join(f"{m} med | {m} mean" for m in ("R-1", "R-2", "R-L"))
    print(f"| system | {header} | words mean |")
    print("| --- |" + " ---: |" * 7)
    for system in systems:
        cells = []
        for metric in METRICS:
            values = scores[system][metric]
            cells += [f"{statistics.median(values):.3f}", f"{statistics.mean(values):.3f}"]
        mean_words = statistics.mean(lengths[system])
        print(f"| {system} | " + " | ".join(cells) + f" | {mean_words:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", required=True, help="path to the summarize_text example")
    parser.add_argument("--words", default="250", help="word budget(s), comma-separated")
    parser.add_argument("--data", default=str(Path(__file__).parent / "data"))
    parser.add_argument("--meetings", default="", help="only these meetings, comma-separated")
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="asis",
                        help="how every system receives the transcript (default asis)")
    parser.add_argument("--systems", default=",".join(SYSTEMS),
                        help="systems to run, comma-separated (default all)")
    args = parser.parse_args()
    systems = [s for s in args.systems.split(",") if s]
    unknown = sorted(set(systems) - set(SYSTEMS))
    if unknown:
        parser.error(f"unknown systems {unknown}; known: {', '.join(SYSTEMS)}")
    budgets = [int(w) for w in args.words.split(",")]
    only = {m for m in args.meetings.split(",") if m}
    for words in budgets:
        evaluate(args.bin, Path(args.data), words, only, args.variant, systems)


if __name__ == "__main__":
    main()
