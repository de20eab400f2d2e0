#!/usr/bin/env python3
"""Writes the main job's task, language identification, into examples/data/language_id/.

    .venv/bin/python examples/data/make_language_id.py

Each row is five words drawn from the word list of one language in the PyPI package faker==40.63.0
(faker/providers/lorem/<locale>: lists nobody in this project wrote) and the language's English name:
    {"prompt": "Text: casa verde entre luego mucho\\nLanguage:", "completion": " Spanish"}
Eight languages, all in the Latin script, so the model must read the words, not the alphabet.
Fixed seed: the files are reproducible, and they are committed, so the main job needs no Python.
train.jsonl: 40 rows per language (320); heldout.jsonl: 12 rows per language (96), drawn after the
training rows from words the training rows never used, so held-out accuracy measures the language
and not memorised words.
"""

import importlib
import json
import os
import random

LANGUAGES = {
    "en_US": "English",
    "es_ES": "Spanish",
    "fr_FR": "French",
    "de_DE": "German",
    "it_IT": "Italian",
    "nl_NL": "Dutch",
    "pl_PL": "Polish",
    "da_DK": "Danish",
}
WORDS_PER_ROW = 5
TRAIN_ROWS, HELDOUT_ROWS = 40, 12


def rows_for(locale, language, generator):
    words = sorted(set(w for w in importlib.import_module(f"faker.providers.lorem.{locale}").Provider.word_list
                       if w.isalpha() and len(w) > 2))
    generator.shuffle(words)
    heldout_words = words[: len(words) // 4]
    train_words = words[len(words) // 4:]

    def row(pool):
        text = " ".join(generator.sample(pool, WORDS_PER_ROW))
        return {"prompt": f"Text: {text[0].upper() + text[1:]}\nLanguage:", "completion": f" {language}"}

    return [row(train_words) for _ in range(TRAIN_ROWS)], [row(heldout_words) for _ in range(HELDOUT_ROWS)]


def main():
    generator = random.Random(20261201)
    train, heldout = [], []
    for locale, language in LANGUAGES.items():
        rows, held = rows_for(locale, language, generator)
        train += rows
        heldout += held
    generator.shuffle(train)
    generator.shuffle(heldout)
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "language_id")
    os.makedirs(folder, exist_ok=True)
    for name, rows in (("train.jsonl", train), ("heldout.jsonl", heldout)):
        with open(os.path.join(folder, name), "w", encoding="utf-8") as handle:
            for item in rows:
                handle.write(json.dumps(item, ensure_ascii=False) + "\n")
    print(f"language_id: {len(train)} training rows, {len(heldout)} held-out rows, {len(LANGUAGES)} languages")


if __name__ == "__main__":
    main()
