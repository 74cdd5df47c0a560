"""Benchmark of the fusion stage's embedded language model: the packaged SmolLM2-135M GGUF.

    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.bench_llm [--runs 1] [--threads N] [--no-long]
        [--no-threads] [--budget TOKENS]

The prompt is fusion-like: the evidence of a 20-second clip (speech segments, keyframe
descriptions, faces, on-screen text, each with its evidence id: 1,281 prompt tokens) and the
instruction to summarise it as JSON under a narrative-like schema (summary, timeline, persons,
requires_human_review). ``LlamaCppLLM`` runs it as :meth:`chat_json` would (greedy, no prompt
cache), best of ``--runs``; about 3 minutes on 2 cores. Prints:

- the time for the 20-second summary with the schema constraint (what the fusion stage pays per
  clip), its prompt and generation speeds in tokens per second (llama.cpp's own timings), and
  whether the reply parses and follows the schema;
- baseline 1, same run: the same request without the constraint (``structured="off"``): the
  grammar's cost is the ratio of the generation speeds;
- baseline 2, same run: the first ``THREAD_TOKENS`` tokens of the constrained request on every
  core (``os.cpu_count()``) against ``--threads`` (default: what the embedded profile runs,
  half the cores): generation and prompt speeds compared (on shared cores the all-core run can
  be many times slower, which is why it is not the default);
- unless ``--no-long``: the prompt speed of a prompt filling most of the default 8192-token
  context (what a long case costs before the first token).

Targets (exit 1 when missed): the 20-second summary within 60 s on 2 cores (the narrative is
written once per case, after every other stage), the constraint's generation speed at least 0.7
of the unconstrained, the constrained reply valid against the schema. The unconstrained baseline
generates as many tokens as the constrained reply had (``ignore_eos``), for a like-for-like
speed. SmolLM2-135M's content is weak (it tends to repeat the instructions into the strings);
this measures the machinery and its cost, not the narrative's quality.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import jsonschema  # noqa: E402

from aima.models.llm.llamacpp import LlamaCppLLM, default_threads  # noqa: E402
from bench._result import print_result  # noqa: E402

TARGET_SUMMARY_S = 60.0
TARGET_CONSTRAINT_RATIO = 0.7
THREAD_TOKENS = 128
BUDGET = 1200  # replies end by themselves before this (SmolLM2 fills strings: 600-1000 tokens)

SCHEMA = {
    "title": "narrative",
    "type": "object",
    "properties": {
        "summary": {"type": "string", "maxLength": 400},
        "timeline": {"type": "array", "maxItems": 6, "items": {
            "type": "object",
            "properties": {"time": {"type": "number"},
                           "description": {"type": "string", "maxLength": 120},
                           "evidence": {"type": "array", "maxItems": 3,
                                        "items": {"type": "string", "maxLength": 24}}},
            "required": ["time", "description", "evidence"], "additionalProperties": False}},
        "persons": {"type": "array", "maxItems": 4, "items": {
            "type": "object",
            "properties": {"person": {"type": "string", "maxLength": 24},
                           "description": {"type": "string", "maxLength": 120}},
            "required": ["person", "description"], "additionalProperties": False}},
        "requires_human_review": {"type": "boolean"},
    },
    "required": ["summary", "timeline", "persons", "requires_human_review"],
    "additionalProperties": False,
}

SYSTEM = ("You are an analyst. Summarise the evidence of one media file as JSON: a short "
          "summary, a timeline of what happens (time in seconds, description, evidence ids), the "
          "persons seen or heard, and whether a human must review it. Use only the evidence "
          "given; cite evidence ids.")


def evidence_of_a_20_second_clip() -> list[dict]:
    said = ["Open the door, we know you are in there.", "I am not opening anything.",
            "Put your hands where I can see them.", "Please, I have done nothing wrong.",
            "Turn around and face the wall.", "My wrists hurt, the cuffs are too tight.",
            "Stay calm and nobody gets hurt.", "Where are you taking me?"]
    items = [{"id": f"seg-{n + 1}", "kind": "speech", "start_s": 2.2 * n, "end_s": 2.2 * n + 2.0,
              "speaker": f"speaker-{n % 2 + 1}", "text": text} for n, text in enumerate(said)]
    scenes = ["a hallway, two men near a white door", "a man in a dark jacket raises his hands",
              "the second man holds the first man's arms behind his back",
              "close-up of handcuffs on wrists", "a kitchen, one man seated on a chair"]
    items += [{"id": f"kf-{n + 1}", "kind": "keyframe", "timestamp_s": 4.0 * n,
               "description": text} for n, text in enumerate(scenes)]
    items += [{"id": f"face-{n + 1}", "kind": "face", "timestamp_s": 4.0 * n + 1,
               "person": f"person-{n % 2 + 1}", "box": [120 + 10 * n, 80, 64, 64]}
              for n in range(6)]
    items += [{"id": "ocr-1", "kind": "text", "timestamp_s": 12.0, "text": "FLAT 4B"},
              {"id": "det-1", "kind": "restraint", "timestamp_s": 12.0, "label": "handcuffs",
               "score": 0.71, "box": [200, 210, 90, 40]}]
    return items


def messages(evidence: list[dict]) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": "Media file: call-0042.mp4, 20.0 s.\nEvidence:\n"
             + "\n".join(json.dumps(item) for item in evidence)}]


def best_run(model: LlamaCppLLM, request: dict, runs: int) -> tuple[float, dict]:
    """(wall seconds, response) of the fastest of ``runs``."""
    best = None
    for _ in range(runs):
        start = time.perf_counter()
        response = model.chat_completion(request)
        elapsed = time.perf_counter() - start
        if best is None or elapsed < best[0]:
            best = (elapsed, response)
    return best


def report(name: str, wall: float, response: dict) -> dict:
    timings = response["timings"]
    print(f"{name:36s} {wall:6.2f} s   prompt {timings['prompt_n']:5d} tokens "
          f"{timings['prompt_per_second']:7.1f}/s   generated {timings['predicted_n']:4d} tokens "
          f"{timings['predicted_per_second']:6.1f}/s")
    return timings


def valid(reply: str) -> bool:
    try:
        jsonschema.validate(json.loads(reply), SCHEMA)
    except (ValueError, jsonschema.ValidationError):
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=default_threads())
    parser.add_argument("--no-long", action="store_true",
                        help="skip the prompt that fills most of the context")
    parser.add_argument("--no-threads", action="store_true",
                        help="skip the comparison with every core (baseline 2)")
    parser.add_argument("--budget", type=int, default=BUDGET,
                        help="reply tokens at most; below the default the reply is cut short "
                             "(not valid JSON) and the targets are not judged")
    args = parser.parse_args(argv)

    chat = messages(evidence_of_a_20_second_clip())
    constrained = LlamaCppLLM.packaged(threads=args.threads, max_new_tokens=args.budget)
    free = LlamaCppLLM.packaged(threads=args.threads, max_new_tokens=args.budget,
                                structured="off")
    print(f"{constrained.model_id}, context {constrained.context_tokens} tokens, "
          f"{args.threads} threads; best of {args.runs}")

    wall, response = best_run(constrained, constrained.request(chat, SCHEMA, args.budget),
                              args.runs)
    timed = report("20-second summary, schema", wall, response)
    reply = response["choices"][0]["message"]["content"]
    ok = valid(reply)

    free_request = free.request(chat, SCHEMA, args.budget)
    free_request["ignore_eos"] = True  # the same budget spent, for a like-for-like speed
    free_request["max_tokens"] = timed["predicted_n"]
    free_wall, free_response = best_run(free, free_request, args.runs)
    free_timed = report("baseline: no schema constraint", free_wall, free_response)
    free.close()

    if not args.no_threads:
        compare_threads(constrained, chat, args)
    constrained.close()

    ratio = timed["predicted_per_second"] / free_timed["predicted_per_second"]
    print(f"reply valid against the schema: {ok}   ({len(reply)} characters)")
    print(f"constraint: generation speed {ratio:.2f} of unconstrained "
          f"(target >= {TARGET_CONSTRAINT_RATIO})")
    print(f"20-second summary: {wall:.2f} s (target <= {TARGET_SUMMARY_S:.0f} s)")

    if not args.no_long:
        long_model = LlamaCppLLM.packaged(threads=args.threads, max_new_tokens=1)
        evidence = evidence_of_a_20_second_clip() * 5  # about 6,000 tokens
        start = time.perf_counter()
        response = long_model.chat_completion(
            long_model.request(messages(evidence), SCHEMA, 1))
        report("long prompt (most of the context)", time.perf_counter() - start, response)
        long_model.close()

    passed = ok and wall <= TARGET_SUMMARY_S and ratio >= TARGET_CONSTRAINT_RATIO
    judged = args.budget >= BUDGET  # a reply cut short by a smaller budget is not valid JSON
    print(("PASS" if passed else "FAIL") if judged else
          f"targets not judged: the reply budget was cut to {args.budget} tokens")
    print("reply:", reply)
    print_result(ratio, "generation speed with the schema constraint / without",
                 f">= {TARGET_CONSTRAINT_RATIO}; summary <= {TARGET_SUMMARY_S:.0f} s; valid reply",
                 passed if judged else None, summary_s=wall, reply_tokens=timed["predicted_n"], reply_valid=ok,
                 prompt_tokens_s=timed["prompt_per_second"],
                 generated_tokens_s=timed["predicted_per_second"])
    return 0 if passed or not judged else 1


def compare_threads(constrained: LlamaCppLLM, chat: list[dict[str, str]], args) -> None:
    """Baseline 2: the first THREAD_TOKENS tokens on ``--threads`` against every core."""
    short = constrained.request(chat, SCHEMA, THREAD_TOKENS)
    own_wall, own_response = best_run(constrained, short, args.runs)
    own_timed = report(f"{THREAD_TOKENS} tokens, {args.threads} threads", own_wall, own_response)
    every_core = LlamaCppLLM.packaged(threads=os.cpu_count() or 1, max_new_tokens=THREAD_TOKENS)
    all_wall, all_response = best_run(every_core, every_core.request(chat, SCHEMA, THREAD_TOKENS),
                                      args.runs)
    all_timed = report(f"baseline: {THREAD_TOKENS} tokens, {every_core.threads} threads",
                       all_wall, all_response)
    every_core.close()
    print(f"{every_core.threads} threads against {args.threads}: {all_wall / own_wall:.2f}x the "
          f"time; generation speed "
          f"{all_timed['predicted_per_second'] / own_timed['predicted_per_second']:.2f}x, "
          f"prompt speed {all_timed['prompt_per_second'] / own_timed['prompt_per_second']:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
