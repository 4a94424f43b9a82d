"""`afg.torch.linear(clf)`: a fitted afg estimator as a `torch.nn.Module` computing the same
logits in PyTorch: weight · T(x) + raw_weight · x + bias, and with a memory head the mixed
scores (1 − w) · log_softmax(logits) + w · log p(c | T(x)) (docs/FORMAT.md)."""

import torch

__all__ = ["linear"]


class AFGLinear(torch.nn.Module):
    """The classifier of an afg estimator: `linear` (a `torch.nn.Linear` on the
    Tukey-transformed features), the optional second head `raw_weight` on the raw features,
    and the Tukey λ (None: no transform). forward(x): N × D features → N × C logits.

    As the estimator does: the features are read as float32 (as afg reads them), the logits
    computed in float64 and returned as float32 (float64 for float64 input), so they agree
    with `decision_function` to float32 rounding (a 24-wide logit rounds by ≤ 1e-6)."""

    def __init__(self, weight, bias, raw_weight=None, tukey_lambda=None, memory=None):
        super().__init__()
        c, d = weight.shape
        self.linear = torch.nn.Linear(d, c)
        with torch.no_grad():
            self.linear.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
            self.linear.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
        self.register_buffer("raw_weight", None if raw_weight is None else torch.as_tensor(raw_weight, dtype=torch.float32))
        self.tukey_lambda = tukey_lambda
        # The memory head: (center, rows, labels, temperature, weight), or None.
        center, rows, labels, self.memory_temperature, self.memory_weight = memory or (None,) * 5
        for name, v in (("memory_center", center), ("memory_rows", rows)):
            self.register_buffer(name, None if v is None else torch.as_tensor(v, dtype=torch.float32))
        self.register_buffer("memory_labels", None if labels is None else torch.as_tensor(labels, dtype=torch.int64))

    def forward(self, x):
        z = x.to(torch.float32).to(torch.float64)
        t = z
        if self.tukey_lambda is not None:
            lam = float(self.tukey_lambda)
            t = torch.log(z) if lam == 0 else z.clamp_min(0) ** lam if not lam.is_integer() else z ** lam
        logits = torch.nn.functional.linear(t, self.linear.weight.double(), self.linear.bias.double())
        if self.raw_weight is not None:
            logits = logits + z @ self.raw_weight.double().T
        if self.memory_rows is not None:
            logits = self._memory_scores(logits, t)
        return logits.to(torch.float64 if x.dtype == torch.float64 else torch.float32)


    def _memory_scores(self, logits, t):
        u = t - self.memory_center.double()
        norms = u.norm(dim=1, keepdim=True)
        u = torch.where(norms > 0, u / norms.clamp_min(1e-300), torch.zeros_like(u))
        s = u @ self.memory_rows.double().T / self.memory_temperature
        density = torch.full(logits.shape, -1e4, dtype=torch.float64)
        for k in range(logits.shape[1]):
            idx = (self.memory_labels == k).nonzero().flatten()
            if len(idx):
                density[:, k] = torch.logsumexp(s[:, idx], dim=1) - torch.log(torch.tensor(float(len(idx)), dtype=torch.float64))
        w = self.memory_weight
        return (1 - w) * torch.log_softmax(logits, dim=1) + w * torch.log_softmax(density, dim=1)


def linear(clf):
    """The fitted estimator `clf` (GLAGClassifier, BalancedLogisticRegression) as an
    `AFGLinear` module; its logits equal `clf.decision_function` for three or more classes
    (for two, decision_function is logits[:, 1] - logits[:, 0])."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(clf)
    memory = None
    if getattr(clf, "memory_rows_", None) is not None:
        memory = (clf.memory_center_, clf.memory_rows_, clf.memory_labels_, clf.memory_temperature_, clf.memory_weight_)
    return AFGLinear(clf.coef_, clf.intercept_, clf.raw_coef_, clf.tukey_lambda_, memory)
