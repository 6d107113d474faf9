import numpy as np
import pytest
import scipy.linalg  # noqa: F401 - loads scipy's BLAS so threadpoolctl sees its pool too
import torch
from threadpoolctl import threadpool_info

from omibench.run.threads import current_threads, limit_threads


@pytest.mark.parametrize("n", [1, 3])
def test_limit_threads_sets_torch_and_every_blas_pool_then_restores(n):
    np.ones((4, 4)) @ np.ones((4, 4))
    before_torch = torch.get_num_threads()
    before_pools = {p["filepath"]: p["num_threads"] for p in threadpool_info()}
    assert before_pools, "threadpoolctl found no BLAS/OpenMP pool to limit"
    with limit_threads(n):
        assert torch.get_num_threads() == n
        assert all(p["num_threads"] == n for p in threadpool_info()), threadpool_info()
        assert set(current_threads().values()) == {n}
        torch.ones(64, 64) @ torch.ones(64, 64)  # still usable inside
    assert torch.get_num_threads() == before_torch
    assert {p["filepath"]: p["num_threads"] for p in threadpool_info()} == before_pools


def test_limits_are_restored_when_the_fit_raises():
    before = current_threads()
    with pytest.raises(RuntimeError), limit_threads(1):
        raise RuntimeError("fit failed")
    assert current_threads() == before


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, None])
def test_limit_threads_refuses_a_nonsense_count(bad):
    with pytest.raises(ValueError, match="positive number of threads"), limit_threads(bad):
        pass
