"""Classic time-series classifier: MiniRocket features + a ridge classifier (Dempster et al. 2021).

MiniRocket (sktime's ``MiniRocketMultivariateVariable``, which takes instances of unequal
length as they are) turns each multichannel instance into ~10k PPV features; a
cross-validated ridge classifier on standardised features does the rest, as in the paper.

    clf = MiniRocketClassifier(seed=0).fit(X_train, y_train)   # X: sktime nested frame
    pred = clf.predict(X_test)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import RidgeClassifierCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

MIN_LENGTH = 9
"""MiniRocket's kernels span 9 steps; shorter instances are padded to this length."""


class MiniRocketClassifier:
    """MiniRocket (variable-length, multivariate) -> standardise -> RidgeClassifierCV.

    The transform and the scikit-learn head are held apart rather than in one
    ``sklearn.pipeline.Pipeline``: scikit-learn 1.9's pipeline callbacks do not accept
    sktime transformers.

    Args:
        seed: MiniRocket's random_state (its kernel biases are drawn from the training data).
        num_kernels: MiniRocket's feature count (rounded by it to a multiple of 84).
    """

    def __init__(self, seed: int = 0, num_kernels: int = 10_000) -> None:
        from sktime.transformations.panel.rocket import MiniRocketMultivariateVariable

        self.transform = MiniRocketMultivariateVariable(
            num_kernels=num_kernels,
            random_state=seed,
            pad_value_short_series=0.0,  # pads instances shorter than MIN_LENGTH
        )
        # with_mean=False: scale-only standardisation, as in the paper's ridge setup.
        self.head: Pipeline = make_pipeline(
            StandardScaler(with_mean=False), RidgeClassifierCV(alphas=np.logspace(-3, 3, 10))
        )

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> MiniRocketClassifier:
        """Fit on a nested-univariate panel X ([instances, channels] of pd.Series) and labels y."""
        self.head.fit(self.transform.fit_transform(X), y)
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """[instances] predicted labels."""
        return self.head.predict(self.transform.transform(X))
