"""The maths of a spot-check plan (双随机抽查), pure and testable with arrays.

- `plan` — the plan a planner writes (PLAN.yaml, the service's request body): one pydantic model,
  every rule checked with a message in English and Chinese;
- `allocation` — a budget of inspections spread to find the most problems, with a floor for everyone;
- `draw` — inclusion probabilities per enterprise, the public random numbers of the draw, the commitment;
- `inspectors` — a verifiable random pair of inspectors for every drawn enterprise.

Reading graded tables and directories, writing the plan folder and verifying a published list are
I/O: `creditgrade.serving.planner`.
"""
