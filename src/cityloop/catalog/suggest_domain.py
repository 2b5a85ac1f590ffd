"""Category suggestion from free text: BM25 over jieba tokens of matter names, filing conditions and a synonym
table of colloquial phrases, plus pinyin initials for the searchable picker. Pure: no database, no I/O except
the data files read once."""

from __future__ import annotations

import csv
import math
import re
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

SYNONYMS = Path(__file__).parent / "data" / "suggest_synonyms.tsv"
# Words that carry no category signal in a complaint ("有人在路边……").
STOP = frozenset("的 了 在 是 有 有人 我 我们 你 他 这 那 个 一个 和 与 及 或 被 把 就 都 也 还 很 太 好 吗 呢 吧 啊 呀 了吧 "
                 "这里 那里 这边 那边 这个 那个 一直 已经 没有人 请 帮忙 麻烦 处理 一下 反映 投诉 问题 异常 情况 存在 "
                 "门口 旁边 附近 路边 小区 街 路 上 下 里 前 后 天 现在 今天 昨天 好几天 几天 看看 管管 快".split())
PUNCT = re.compile(r"[\s，。！？、；：,.!?;:（）()\"'“”‘’…—\-]+")
K1, B = 1.2, 0.75
# Field weights: a synonym phrase names the matter the way callers do; a name is exact; conditions are long.
W_SYNONYM, W_NAME, W_CONDITION, W_MAJOR = 3.0, 2.0, 0.6, 0.2

_jieba_lock = threading.Lock()
_jieba: Any = None  # a jieba.Tokenizer (jieba has no type information)


@dataclass(frozen=True)
class MatterText:
    """The texts of one matter that suggestion reads."""

    code: str
    name: str
    major_name: str = ""
    conditions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Suggestion:
    """One ranked matter with a score in 0–1 and a short reason."""

    code: str
    name: str
    score: float
    reason: str


def read_synonyms(path: Path = SYNONYMS) -> list[tuple[str, str]]:
    """(colloquial phrase, matter code) pairs from the synonym table."""
    with path.open(encoding="utf-8") as f:
        return [(row[0].strip(), row[1].strip()) for row in csv.reader(f, delimiter="\t")
                if len(row) >= 2 and row[0].strip() and not row[0].startswith("#")]


def _segmenter() -> Any:
    """jieba, loaded once per process on first use (its dictionary takes about a second)."""
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                import jieba
                jieba.setLogLevel(60)
                tk = jieba.Tokenizer()
                tk.initialize()
                _jieba = tk
    return _jieba


def add_words(words: Iterable[str]) -> None:
    """Teach the segmenter the catalog's names and synonym phrases so they stay whole."""
    tk = _segmenter()
    for w in words:
        if 1 < len(w) <= 12:
            tk.add_word(w, freq=2000)


def tokens(text: str) -> list[str]:
    """jieba search-mode tokens of `text` without stop words and punctuation, plus its Chinese bigrams
    (so unseen compounds still meet)."""
    out: list[str] = []
    for part in PUNCT.split(text.lower()):
        if not part:
            continue
        for w in _segmenter().cut_for_search(part):
            if w.strip() and w not in STOP and not PUNCT.fullmatch(w):
                out.append(w)
        han = [c for c in part if "\u4e00" <= c <= "\u9fff"]
        out.extend("".join(han[i:i + 2]) for i in range(len(han) - 1) if "".join(han[i:i + 2]) not in STOP)
    return out


@dataclass
class SuggestIndex:
    """A BM25 index with one weighted document per matter."""

    matters: dict[str, MatterText]
    tf: dict[str, dict[str, float]] = field(default_factory=dict)  # code -> weighted term counts
    length: dict[str, float] = field(default_factory=dict)
    postings: dict[str, list[str]] = field(default_factory=dict)
    idf: dict[str, float] = field(default_factory=dict)
    avg: float = 1.0

    @classmethod
    def build(cls, matters: list[MatterText], synonyms: list[tuple[str, str]]) -> SuggestIndex:
        """Index the matters' names, conditions, major class and synonym phrases."""
        by_code = {m.code: m for m in matters}
        add_words([m.name for m in matters] + [p for p, c in synonyms if c in by_code])
        index = cls(by_code)
        docs: defaultdict[str, defaultdict[str, float]] = defaultdict(lambda: defaultdict(float))
        for m in matters:
            for w in tokens(m.name):
                docs[m.code][w] += W_NAME
            for w in tokens(re.sub(r"异常$", "", m.name)):
                docs[m.code][w] += W_NAME
            for cond in m.conditions:
                for w in tokens(cond):
                    docs[m.code][w] += W_CONDITION
            for w in tokens(m.major_name):
                docs[m.code][w] += W_MAJOR
        for phrase, code in synonyms:
            if code in by_code:
                for w in tokens(phrase):
                    docs[code][w] += W_SYNONYM
        n = len(by_code) or 1
        df: Counter[str] = Counter()
        for code, tf in docs.items():
            index.tf[code] = tf
            index.length[code] = sum(tf.values())
            for w in tf:
                df[w] += 1
                index.postings.setdefault(w, []).append(code)
        index.idf = {w: math.log(1 + (n - d + 0.5) / (d + 0.5)) for w, d in df.items()}
        index.avg = (sum(index.length.values()) / len(index.length)) if index.length else 1.0
        return index

    def suggest(self, text: str, limit: int = 5) -> list[Suggestion]:
        """The best matching matters for a free-text description, best first, each with its matched words."""
        query = list(dict.fromkeys(tokens(text)))
        scores: dict[str, float] = defaultdict(float)
        hits: dict[str, list[str]] = defaultdict(list)
        for w in query:
            idf = self.idf.get(w)
            if idf is None:
                continue
            for code in self.postings[w]:
                f = self.tf[code][w]
                norm = K1 * (1 - B + B * self.length[code] / self.avg)
                scores[code] += idf * f * (K1 + 1) / (f + norm)
                hits[code].append(w)
        if not scores:
            return []
        top = max(scores.values())
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        return [Suggestion(code, self.matters[code].name, round(s / top, 3), "匹配：" + "、".join(_shown(hits[code])))
                for code, s in ranked]


def _shown(words: list[str]) -> list[str]:
    """The matched words worth showing: longer words first, no word contained in another."""
    kept: list[str] = []
    for w in sorted(set(words), key=len, reverse=True):
        if not any(w in k for k in kept):
            kept.append(w)
    return kept[:4]


def initials(name: str) -> str:
    """Pinyin initials of a name (路灯异常 → ldyc), other characters kept lower-cased."""
    from pypinyin import Style, lazy_pinyin
    return "".join(p[0] for p in lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default") if p).lower()
