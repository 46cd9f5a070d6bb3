"""Gaussian-process search from the bayesian-optimization package (v3 API), as in the course.

The space is mapped to the unit cube, because bayes_opt's default kernel is isotropic and has
no log scale: learning rate and widths are searched as log-uniform coordinates, integers and
categories are decoded from bins. Before each proposal every finished trial in the store is
registered, so a resumed run or another worker's trials inform the next point.
"""

from __future__ import annotations

import numpy as np
from bayes_opt import BayesianOptimization
from optuna.trial import TrialState

from .base import StudyOptimizer


class BayesOptOptimizer(StudyOptimizer):
    def _propose(self):
        trials = self.study.get_trials(deepcopy=False)
        done = [t for t in trials if t.state == TrialState.COMPLETE]
        failed = [t for t in trials if t.state == TrialState.FAIL and t.params]
        if len(done) < self.init_points:
            rng = np.random.default_rng([self.seed, len(trials)])
            unit = {name: float(rng.random()) for name in self.space.names}
        else:
            optimizer = BayesianOptimization(
                f=None,
                pbounds={name: (0.0, 1.0) for name in self.space.names},
                random_state=self.seed + len(trials),
                verbose=0,
                allow_duplicate_points=True,
            )
            for t in done:  # bayes_opt maximises: the target is the negated loss
                optimizer.register(params=self._unit(t.params), target=-t.value)
            worst = -max(t.value for t in done)
            for t in failed:  # steer away from diverging regions
                if set(t.params) == set(self.space.names):
                    optimizer.register(params=self._unit(t.params), target=worst)
            unit = optimizer.suggest()
        params = self.space.decode(unit)
        self.study.enqueue_trial(params)
        return self.study.ask(self.distributions)

    def _unit(self, params: dict) -> dict:
        return {k: min(max(v, 0.0), 1.0) for k, v in self.space.encode(params).items()}
