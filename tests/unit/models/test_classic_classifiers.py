"""MiniRocket + ridge on sktime's bundled JapaneseVowels (unequal lengths, some shorter than 9)."""

from __future__ import annotations

import numpy as np
import pytest

from tsalign.components.evaluation.metrics import classification_scores
from tsalign.components.models.classic_classifiers import MIN_LENGTH, MiniRocketClassifier


@pytest.mark.slow
def test_minirocket_learns_japanese_vowels_on_the_archive_split():
    from sktime.datasets import load_japanese_vowels

    X_train, y_train = load_japanese_vowels(split="train", return_X_y=True)
    X_test, y_test = load_japanese_vowels(split="test", return_X_y=True)
    assert min(len(X_train.iloc[i, 0]) for i in range(len(X_train))) < MIN_LENGTH
    # 840 kernels instead of 10k keeps this quick; chance is 1/9.
    clf = MiniRocketClassifier(seed=0, num_kernels=840).fit(X_train, y_train)
    scores = classification_scores(clf.predict(X_test), np.asarray(y_test))
    assert scores["accuracy"] > 0.9
    again = MiniRocketClassifier(seed=0, num_kernels=840).fit(X_train, y_train).predict(X_test)
    np.testing.assert_array_equal(again, clf.predict(X_test))
