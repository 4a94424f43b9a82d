"""`afg.torch.linear(clf)`: a fitted afg estimator as a `torch.nn.Module` computing the same
logits in PyTorch: weight · T(x) + raw_weight · x + bias (docs/FORMAT.md)."""

import torch

__all__ = ["linear"]


class AFGLinear(torch.nn.Module):
    """The classifier of an afg estimator: `linear` (a `torch.nn.Linear` on the
    Tukey-transformed features), the optional second head `raw_weight` on the raw features,
    and the Tukey λ (None: no transform). forward(x): N × D features → N × C logits.

    As the estimator does: the features are read as float32 (as afg reads them), the logits
    computed in float64 and returned as float32 (float64 for float64 input), so they agree
    with `decision_function` to float32 rounding (a 24-wide logit rounds by ≤ 1e-6)."""

    def __init__(self, weight, bias, raw_weight=None, tukey_lambda=None):
        super().__init__()
        c, d = weight.shape
        self.linear = torch.nn.Linear(d, c)
        with torch.no_grad():
            self.linear.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
            self.linear.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
        self.register_buffer("raw_weight", None if raw_weight is None else torch.as_tensor(raw_weight, dtype=torch.float32))
        self.tukey_lambda = tukey_lambda

    def forward(self, x):
        z = x.to(torch.float32).to(torch.float64)
        t = z
        if self.tukey_lambda is not None:
            lam = float(self.tukey_lambda)
            t = torch.log(z) if lam == 0 else z.clamp_min(0) ** lam if not lam.is_integer() else z ** lam
        logits = torch.nn.functional.linear(t, self.linear.weight.double(), self.linear.bias.double())
        if self.raw_weight is not None:
            logits = logits + z @ self.raw_weight.double().T
        return logits.to(torch.float64 if x.dtype == torch.float64 else torch.float32)


def linear(clf):
    """The fitted estimator `clf` (GLAGClassifier, BalancedLogisticRegression) as an
    `AFGLinear` module; its logits equal `clf.decision_function` for three or more classes
    (for two, decision_function is logits[:, 1] - logits[:, 0])."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(clf)
    return AFGLinear(clf.coef_, clf.intercept_, clf.raw_coef_, clf.tukey_lambda_)
