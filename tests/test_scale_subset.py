"""LASSO on a gene subset, honestly: ``--set 'preprocess.a=[{variance: {top_k: N}}]'`` narrows A itself
(so every metric scores only those genes), chosen by training-row variance only."""

import numpy as np

from omibench.config import load_config
from omibench.contract.registry import load_registry
from omibench.run.preparation import prepare

from . import test_stream

cohort = test_stream.cohort  # the Xena-layout fixture of test_stream.py


def test_top_variance_genes_from_the_command_line_are_chosen_on_training_rows(cohort):
    path = test_stream._config(cohort)
    whole = prepare(load_config(path, ["preprocess.a=[]"]), load_registry())
    subset = prepare(load_config(path, ["preprocess.a=[{variance: {top_k: 5}}]"]), load_registry())
    assert list(subset.train.sample_ids) == list(whole.train.sample_ids)  # the same split
    var = whole.train.a.var(axis=0, dtype=np.float64)
    expected = whole.train.a_features[np.sort(np.argsort(-var, kind="stable")[:5])]
    for part in (subset.train, subset.val, subset.test):
        assert list(part.a_features) == list(expected) and part.a.shape[1] == 5
    np.testing.assert_array_equal(subset.test.a, whole.test.a[:, np.isin(whole.test.a_features, expected)])
    # chosen on training rows: the test rows' own top 5 differ here, and do not decide
    test_var = whole.test.a.var(axis=0, dtype=np.float64)
    assert set(whole.test.a_features[np.argsort(-test_var)[:5]]) != set(expected)
