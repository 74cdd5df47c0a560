"""Evaluation of AIMA end to end: known-truth cases (:mod:`aima.eval.generate`), and a scorer
that runs ``aima analyze`` on one and compares the report with the truth (:mod:`aima.eval.score`).

    python -m aima.eval generate CASE_DIR [--size tiny|small|medium] [--files N]
    python -m aima.eval score CASE_DIR [--json OUT]
"""
