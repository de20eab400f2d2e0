"""The `softprompt` command-line tool, driven as a user drives it: subprocesses, exit codes, stdout,
stderr and the files it writes.

    test_cli.py --tool BUILD/cli/softprompt --model DIR --scratch DIR [unittest arguments]

--model is the tiny llama with the byte-level gpt2 tokenizer (fixture tokenizer_binding_reference:
model vocabulary 256, so the test data uses digits, punctuation and single capitals, whose ids are
the byte tokens below 256). Expected values come from the definitions written out here (a loss is the
mean negative log-likelihood per target token; accuracy is the share of rows whose own label scores
highest), recomputed from the tool's other outputs, never taken from the code under test.
"""

import argparse
import json
import math
import os
import pty
import shutil
import subprocess
import sys
import unittest
import xml.etree.ElementTree as ElementTree

TOOL = MODEL = SCRATCH = None
COMMANDS = ["train", "generate", "eval", "score", "inspect", "convert"]


def run(*args, stdin=None, env=None, timeout=300):
    """Runs the tool; returns (exit status, stdout, stderr)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    done = subprocess.run([TOOL, *args], input=stdin, capture_output=True, text=True, env=full_env, timeout=timeout)
    return done.returncode, done.stdout, done.stderr


def scratch(name):
    """A fresh folder for one test."""
    path = os.path.join(SCRATCH, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as out:
        for row in rows:
            out.write((row if isinstance(row, str) else json.dumps(row)) + "\n")
    return path


def sum_rows(count, offset=0):
    """Prompt/completion rows "Q:a+b=" -> the last digit of a+b (every character one byte token)."""
    rows = []
    for i in range(count):
        a, b = (i * 7 + offset) % 10, (i * 3 + 1 + offset) % 10
        rows.append({"prompt": f"Q:{a}+{b}=", "completion": str((a + b) % 10)})
    return rows


def label_rows(count):
    """Classification rows: "x=d;" labelled A when d is even, B otherwise."""
    return [{"text": f"x={i % 10};", "label": "A" if i % 2 == 0 else "B"} for i in range(count)]


def read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def jsonl(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def adapter_values(case, adapter):
    """The adapter's trainable tensors loaded on the model: {name: [values]}."""
    code, out, err = run("inspect", adapter, "--model", MODEL, "--values", "--json")
    case.assertEqual(code, 0, err)
    return {tensor["name"]: tensor["values"] for tensor in json.loads(out)["trainable_tensors"]}


class Usage(unittest.TestCase):
    """--help, --version and wrong command lines (exit 2, a message naming the problem)."""

    def test_every_subcommand_has_help(self):
        for command in COMMANDS:
            code, out, err = run(command, "--help")
            self.assertEqual(code, 0, err)
            self.assertIn(f"usage: softprompt {command}", out)
            self.assertIn("--help", out)

    def test_top_level_help_lists_every_command(self):
        code, out, _ = run("--help")
        self.assertEqual(code, 0)
        for command in COMMANDS:
            self.assertIn(command, out)

    def test_version(self):
        code, out, _ = run("--version")
        self.assertEqual(code, 0)
        self.assertRegex(out, r"^softprompt \d+\.\d+\.\d+ \(library \d+\.\d+\.\d+\)")

    def test_no_command_and_unknown_command(self):
        self.assertEqual(run()[0], 2)
        code, _, err = run("fly")
        self.assertEqual(code, 2)
        self.assertIn("unknown command 'fly'", err)

    def assert_usage_error(self, args, message):
        code, out, err = run(*args)
        self.assertEqual(code, 2, f"{args}: {out}{err}")
        self.assertIn(message, err)
        self.assertTrue(err.startswith(f"softprompt {args[0]}: "), err)

    def test_unknown_option(self):
        self.assert_usage_error(["train", "--data", "x.jsonl", "--learning-rate", "1"], "unknown option --learning-rate")
        self.assert_usage_error(["generate", "--bogus"], "unknown option --bogus")

    def test_missing_value(self):
        self.assert_usage_error(["train", "--data", "x.jsonl", "--steps"], "--steps needs a value")
        self.assert_usage_error(["generate", "--prompt"], "--prompt needs a value")

    def test_bad_numbers(self):
        self.assert_usage_error(["train", "--data", "x.jsonl", "--steps", "ten"], "--steps needs a whole number")
        self.assert_usage_error(["train", "--data", "x.jsonl", "--lr", "fast"], "--lr needs a number")
        self.assert_usage_error(["train", "--data", "x.jsonl", "--batch-size", "0"], "--batch-size must lie in")
        self.assert_usage_error(["generate", "--top-p", "1.5"], "--top-p must lie in")
        self.assert_usage_error(["train", "--data", "x.jsonl", "--lr", "nan"], "--lr needs a number")

    def test_thread_counts_the_library_refuses(self):
        for command in ["train", "generate", "eval", "score"]:
            self.assertIn("--threads N", run(command, "--help")[1], command)
        # The model is the real one: the count is refused before anything is computed, with the value named.
        self.assert_usage_error(["generate", "--model", MODEL, "--prompt", "Q:", "--threads", "-3"], "--threads -3")
        code, _, err = run("generate", "--model", MODEL, "--prompt", "Q:", "--threads", "-3")
        self.assertIn("got -3", err)
        self.assert_usage_error(["generate", "--model", MODEL, "--prompt", "Q:", "--threads", "5000"], "got 5000")
        self.assert_usage_error(["generate", "--model", MODEL, "--threads", "two"], "--threads needs a whole number")

    def test_unknown_method_and_choices(self):
        self.assert_usage_error(["train", "--data", "x.jsonl", "--method", "lora"], "--method must be one of")
        self.assert_usage_error(["train", "--data", "x.jsonl", "--schedule", "cosine"], "--schedule must be one of")

    def test_missing_required_and_conflicts(self):
        self.assert_usage_error(["train"], "--data FILE.jsonl is required")
        self.assert_usage_error(["eval"], "--data FILE.jsonl is required")
        self.assert_usage_error(["train", "--data", "x", "--steps", "3", "--epochs", "1"], "exclude each other")
        self.assert_usage_error(["generate", "--greedy", "--temperature", "0.7"], "--greedy excludes")
        self.assert_usage_error(["train", "--data", "x", "--init", "text"], "--init text needs --init-text")
        self.assert_usage_error(["convert", "only-one"], "missing arguments")
        self.assert_usage_error(["inspect", "a", "b"], "unexpected argument 'b'")
        self.assert_usage_error(["train", "--data", "x", "--seed", "1", "--seed", "2"], "--seed is given more than once")


class BadFiles(unittest.TestCase):
    """Missing models, corrupt adapters and bad JSONL lines: exit 1, the file and line named."""

    def test_bad_jsonl_lines_name_file_and_line(self):
        folder = scratch("bad_jsonl")
        good = json.dumps({"prompt": "Q:1+1=", "completion": "2"})
        cases = {
            "not_json": ([good, good, "{prompt: 1}"], 3, "not JSON"),
            "not_object": ([good, "[1, 2]"], 2, "not a JSON object"),
            "missing_key": ([good, good, good, '{"prompt": "Q:"}'], 4, 'missing key "completion"'),
            "mixed": ([good, '{"text": "1,2,3"}'], 2, "first line is"),
            "empty_line": ([good, good, ""], 3, "empty line"),
            "wrong_type": ([good, '{"prompt": "Q:", "completion": 7}'], 2, '"completion" must be a string'),
            "unknown_key": (['{"text": "1,2", "lable": "A"}'], 1, 'unknown key "lable"'),
            "empty_value": ([good, '{"prompt": "Q:", "completion": ""}'], 2, '"completion" is empty'),
            "bad_task": ([good, '{"prompt": "Q:", "completion": "1", "task": -1}'], 2, '"task" must be'),
        }
        for name, (lines, line, message) in cases.items():
            path = write_jsonl(os.path.join(folder, name + ".jsonl"), lines)
            for command in (["train", "--data", path], ["eval", "--data", path], ["score", "--data", path]):
                code, _, err = run(*command, "--model", MODEL)
                self.assertEqual(code, 1, f"{name} {command[0]}: {err}")
                self.assertIn(f"{path}:{line}: ", err, name)
                self.assertIn(message, err, name)
        # A bad line in the eval data is found before any training too.
        train = write_jsonl(os.path.join(folder, "train.jsonl"), sum_rows(4))
        bad_eval = write_jsonl(os.path.join(folder, "eval.jsonl"), [good, "not json"])
        code, out, err = run("train", "--model", MODEL, "--data", train, "--eval-data", bad_eval)
        self.assertEqual(code, 1)
        self.assertIn(f"{bad_eval}:2: not JSON", err)
        self.assertNotIn("step", out)

    def test_missing_data_and_model(self):
        folder = scratch("missing")
        code, _, err = run("eval", "--model", MODEL, "--data", os.path.join(folder, "none.jsonl"))
        self.assertEqual(code, 1)
        self.assertIn("none.jsonl: cannot be read", err)
        data = write_jsonl(os.path.join(folder, "d.jsonl"), sum_rows(2))
        code, _, err = run("eval", "--model", os.path.join(folder, "no-model"), "--data", data)
        self.assertEqual(code, 1)
        self.assertTrue(err.startswith("softprompt eval: loading the model"), err)
        # `default` follows $SOFTPROMPT_DEFAULT_MODEL.
        code, _, err = run("eval", "--data", data, env={"SOFTPROMPT_DEFAULT_MODEL": os.path.join(folder, "elsewhere")})
        self.assertEqual(code, 1)
        self.assertIn(os.path.join(folder, "elsewhere"), err)

    def test_model_without_a_tokenizer(self):
        folder = scratch("no_tokenizer")
        model = os.path.join(folder, "model")
        os.makedirs(model)
        for name in ("config.json", "model.safetensors"):
            shutil.copy(os.path.join(MODEL, name), model)
        data = write_jsonl(os.path.join(folder, "d.jsonl"), sum_rows(2))
        code, _, err = run("eval", "--model", model, "--data", data)
        self.assertEqual(code, 1)
        self.assertIn("has no tokenizer", err)

    def test_corrupt_adapter(self):
        folder = scratch("corrupt")
        garbage = os.path.join(folder, "garbage.spa")
        with open(garbage, "wb") as out:
            out.write(b"\x00softprompt? no" * 40)
        code, _, err = run("generate", "--model", MODEL, "--adapter", garbage, "--prompt", "Q:")
        self.assertEqual(code, 1)
        self.assertIn("loading the adapter file", err)
        code, _, err = run("inspect", garbage)
        self.assertEqual(code, 1)
        self.assertIn("describing", err)
        empty_folder = os.path.join(folder, "empty")
        os.makedirs(empty_folder)
        code, _, err = run("inspect", empty_folder)
        self.assertEqual(code, 1)
        self.assertIn("neither a model folder", err)

    def test_text_the_model_cannot_take(self):
        # Letters merge into tokenizer ids beyond the tiny model's 256: refused with the line.
        folder = scratch("out_of_vocab")
        data = write_jsonl(os.path.join(folder, "d.jsonl"), sum_rows(2) + [{"prompt": "hello world", "completion": "1"}])
        code, _, err = run("eval", "--model", MODEL, "--data", data)
        self.assertEqual(code, 1)
        self.assertIn(f"{data}:3: token id", err)

    def test_chat_without_a_template(self):
        code, _, err = run("generate", "--model", MODEL, "--chat", "--prompt", "Q:")
        self.assertEqual(code, 1)
        self.assertIn("no chat template", err)


class Train(unittest.TestCase):
    """Training: metrics, the loss curve, evaluation, early stopping, exact resumption."""

    @classmethod
    def setUpClass(cls):
        cls.folder = scratch("train")
        cls.train_data = write_jsonl(os.path.join(cls.folder, "train.jsonl"), sum_rows(24))
        cls.eval_data = write_jsonl(os.path.join(cls.folder, "eval.jsonl"), sum_rows(8, offset=5))

    def test_metrics_plot_and_falling_loss(self):
        metrics = os.path.join(self.folder, "metrics.jsonl")
        plot = os.path.join(self.folder, "loss.svg")
        output = os.path.join(self.folder, "prompt.spa")
        code, out, progress = run("train", "--model", MODEL, "--data", self.train_data, "--eval-data", self.eval_data,
                             "--steps", "30", "--batch-size", "8", "--lr", "0.1", "--virtual-tokens", "4",
                             "--eval-every", "10", "--metrics", metrics, "--plot", plot, "--output", output)
        self.assertEqual(code, 0, progress)
        rows = jsonl(read(metrics))
        train_rows = [row for row in rows if row["type"] == "train"]
        eval_rows = [row for row in rows if row["type"] == "eval"]
        self.assertEqual([row["step"] for row in train_rows], list(range(1, 31)))
        for row in train_rows:
            self.assertEqual(set(row), {"type", "step", "epoch", "loss", "lr", "grad_norm", "tokens_per_s"})
            self.assertTrue(math.isfinite(row["loss"]) and row["grad_norm"] >= 0 and row["tokens_per_s"] > 0)
        # The linear schedule without warm-up: lr = peak * (1 - (step - 1) / total) at update `step`.
        for row in train_rows:
            self.assertAlmostEqual(row["lr"], 0.1 * (1 - (row["step"] - 1) / 30), places=6)
        # Epochs: 24 rows in batches of 8 are 3 updates an epoch.
        self.assertEqual([row["epoch"] for row in train_rows[:7]], [0, 0, 0, 1, 1, 1, 2])
        self.assertEqual([row["step"] for row in eval_rows], [0, 10, 20, 30])
        first = sum(row["loss"] for row in train_rows[:3]) / 3
        last = sum(row["loss"] for row in train_rows[-3:]) / 3
        self.assertLess(last, first * 0.8, "the training loss does not fall")
        self.assertLess(eval_rows[-1]["eval_loss"], eval_rows[0]["eval_loss"])
        # The SVG parses, has two curves, ticks and axis labels.
        svg = ElementTree.parse(plot).getroot()
        ns = {"svg": "http://www.w3.org/2000/svg"}
        self.assertEqual(svg.tag, "{http://www.w3.org/2000/svg}svg")
        lines = {group.get("id"): group.find("svg:polyline", ns) for group in svg.findall("svg:g", ns)}
        self.assertEqual(len(lines["train"].get("points").split()), 30)
        self.assertEqual(len(lines["eval"].get("points").split()), 4)
        texts = [text.text for text in svg.iter("{http://www.w3.org/2000/svg}text")]
        self.assertIn("update step", texts)
        self.assertTrue(any(text and text.startswith("loss") for text in texts))
        ticks = [t for t in svg.iter("{http://www.w3.org/2000/svg}text") if t.get("class") == "tick"]
        self.assertGreaterEqual(len(ticks), 6)
        # The report: held-out loss and exact match before and after, and the saved adapter.
        self.assertRegex(out, r"loss +base model [0-9.]+ +-> +trained [0-9.]+")
        self.assertIn("accuracy  base model", out)
        self.assertIn("saved " + output, out)
        # The best eval loss is the adapter's: `eval` on the saved file reproduces it.
        best = min(eval_rows, key=lambda row: row["eval_loss"])
        code, out, err = run("eval", "--model", MODEL, "--adapter", output, "--data", self.eval_data, "--json")
        self.assertEqual(code, 0, err)
        self.assertAlmostEqual(json.loads(out)["loss"], best["eval_loss"], places=5)
        # Plain progress lines on a pipe.
        self.assertRegex(progress, r"step 30/30 +ETA")

    def test_progress_bar_on_a_terminal(self):
        leader, follower = pty.openpty()
        process = subprocess.Popen([TOOL, "train", "--model", MODEL, "--data", self.train_data, "--steps", "4",
                                    "--batch-size", "8", "--virtual-tokens", "2"],
                                   stdout=subprocess.DEVNULL, stderr=follower)
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        self.assertEqual(process.wait(timeout=300), 0)
        os.close(leader)
        self.assertIn(b"\r\x1b[K[", seen)
        self.assertIn(b"4/4  ETA", seen)
        self.assertIn(b"tok/s  loss", seen)

    def test_early_stopping_keeps_the_best(self):
        # Training rows all answer "7"; held-out rows all answer "3": the held-out loss can only rise.
        folder = scratch("early_stop")
        train = write_jsonl(os.path.join(folder, "train.jsonl"),
                            [{"prompt": f"Q:{i}+{7 - i}=", "completion": "7"} for i in range(8)])
        held_out = write_jsonl(os.path.join(folder, "eval.jsonl"),
                               [{"prompt": f"Q:{i}+{3 - i}=", "completion": "3"} for i in range(4)])
        metrics = os.path.join(folder, "m.jsonl")
        output = os.path.join(folder, "best.spa")
        code, out, err = run("train", "--model", MODEL, "--data", train, "--eval-data", held_out, "--steps", "40",
                             "--lr", "0.3", "--schedule", "constant", "--virtual-tokens", "4", "--eval-every", "1",
                             "--patience", "3", "--metrics", metrics, "--output", output)
        self.assertEqual(code, 0, err)
        self.assertIn("early stop at step", err)
        rows = jsonl(read(metrics))
        evals = [row for row in rows if row["type"] == "eval"]
        steps = [row["step"] for row in rows if row["type"] == "train"]
        self.assertLess(len(steps), 40)
        best = min(range(len(evals)), key=lambda i: evals[i]["eval_loss"])
        self.assertEqual(len(evals) - 1 - best, 3, "stopped after exactly --patience evaluations without a lower loss")
        code, out, err = run("eval", "--model", MODEL, "--adapter", output, "--data", held_out, "--json")
        self.assertEqual(code, 0, err)
        self.assertAlmostEqual(json.loads(out)["loss"], evals[best]["eval_loss"], places=5)

    def resume_pair(self, folder, extra):
        """An uninterrupted run and the same run cut by --stop-after 5 then resumed: (whole, split) outputs
        and metrics files."""
        common = ["train", "--model", MODEL, "--data", self.train_data, "--steps", "9", "--batch-size", "5",
                  "--virtual-tokens", "3", "--method", "ptuning-mlp", "--warmup-steps", "2", "--seed", "7",
                  "--samples", "0", *extra]
        whole, split = os.path.join(folder, "whole.spa"), os.path.join(folder, "split.spa")
        whole_metrics, split_metrics = os.path.join(folder, "whole.jsonl"), os.path.join(folder, "split.jsonl")
        checkpoint = os.path.join(folder, "state.sps")
        code, _, err = run(*common, "--output", whole, "--metrics", whole_metrics)
        self.assertEqual(code, 0, err)
        code, out, err = run(*common, "--output", split, "--checkpoint", checkpoint, "--stop-after", "5",
                             "--metrics", split_metrics)
        self.assertEqual(code, 0, err)
        self.assertIn("stopped after 5 of 9 updates", out)
        self.assertEqual(max(row["step"] for row in jsonl(read(split_metrics))), 5)
        code, out, err = run(*common, "--output", split, "--checkpoint", checkpoint, "--resume", checkpoint,
                             "--metrics", split_metrics)
        self.assertEqual(code, 0, err)

        def without_speed(path):
            return [{k: v for k, v in row.items() if k != "tokens_per_s"} for row in jsonl(read(path))]
        # Row for row the same losses, rates, norms and eval losses (apart from the speed).
        self.assertEqual(without_speed(whole_metrics), without_speed(split_metrics))
        return common, whole, split, checkpoint

    def test_resume_gives_the_same_adapter(self):
        folder = scratch("resume")
        common, whole, split, checkpoint = self.resume_pair(folder, [])
        whole_values, split_values = adapter_values(self, whole), adapter_values(self, split)
        self.assertIn("embedding.weight", whole_values)
        self.assertTrue(any(name.startswith("mlp_head.") for name in whole_values), "the encoder is kept")
        self.assertEqual(whole_values, split_values, "a resumed run differs from the uninterrupted one")
        # The comparison can fail: another seed gives other values.
        other = os.path.join(folder, "other.spa")
        code, _, err = run(*[arg if arg != "7" else "8" for arg in common], "--output", other)
        self.assertEqual(code, 0, err)
        self.assertNotEqual(adapter_values(self, other), whole_values)
        # A checkpoint with other settings is refused.
        code, _, err = run(*[arg if arg != "5" else "6" for arg in common], "--output", split, "--resume", checkpoint)
        self.assertEqual(code, 1)
        self.assertIn("batch_size", err)
        # inspect describes the checkpoint as a trainer state.
        code, out, err = run("inspect", checkpoint, "--json")
        self.assertEqual(code, 0, err)
        self.assertEqual(json.loads(out)["kind"], "trainer-state")

    def test_resume_keeps_evaluation_and_early_stopping_state(self):
        # Held-out evaluations every 4 updates and patience: the eval rows, and the best adapter kept,
        # are those of the uninterrupted run.
        folder = scratch("resume_eval")
        _, whole, split, _ = self.resume_pair(folder, ["--eval-split", "0.25", "--eval-every", "4", "--patience", "5"])
        self.assertEqual(adapter_values(self, whole), adapter_values(self, split))

    def test_label_data_every_method(self):
        folder = scratch("labels")
        train = write_jsonl(os.path.join(folder, "train.jsonl"), label_rows(16))
        for method in ["prompt", "prefix", "prefix-projection", "ptuning-lstm", "mpt"]:
            output = os.path.join(folder, method) + "/"
            code, out, err = run("train", "--model", MODEL, "--data", train, "--eval-split", "0.25", "--steps", "3",
                                 "--method", method, "--virtual-tokens", "2", "--output", output)
            self.assertEqual(code, 0, f"{method}: {err}")
            self.assertIn("the most likely of 2 label words", out)
            self.assertTrue(os.path.exists(os.path.join(output, "adapter_config.json")), method)

    def test_text_data_and_truncation(self):
        folder = scratch("text")
        rows = [{"text": ",".join(str((i + j) % 10) for j in range(6 + i % 5))} for i in range(10)]
        train = write_jsonl(os.path.join(folder, "train.jsonl"), rows)
        code, out, err = run("train", "--model", MODEL, "--data", train, "--steps", "2", "--max-length", "8",
                             "--virtual-tokens", "2")
        self.assertEqual(code, 0, err)
        self.assertIn("rows longer than --max-length 8 tokens were cut", err)
        self.assertIn("these figures are on the training rows", out)
        self.assertIn("not saved (no --output)", out)


class RunAndInspect(unittest.TestCase):
    """generate, eval, score, inspect and convert on a trained adapter."""

    @classmethod
    def setUpClass(cls):
        cls.folder = scratch("run")
        cls.data = write_jsonl(os.path.join(cls.folder, "data.jsonl"), sum_rows(12))
        cls.adapter_folder = os.path.join(cls.folder, "peft") + "/"
        code, _, err = run("train", "--model", MODEL, "--data", cls.data, "--steps", "3", "--virtual-tokens", "5",
                           "--output", cls.adapter_folder, "--samples", "0")
        assert code == 0, err

    def test_generate_is_deterministic_and_stops(self):
        args = ["generate", "--model", MODEL, "--adapter", self.adapter_folder, "--prompt", "Q:1+2=",
                "--max-new-tokens", "24"]
        code, greedy, err = run(*args)
        self.assertEqual(code, 0, err)
        self.assertEqual(run(*args)[1], greedy)
        text = greedy[:-1]  # the closing newline
        self.assertGreater(len(text), 0)
        # A stop string cuts the stream at the token that completes it.
        stop = next((c for c in text[1:] if not c.isspace() and c != "\ufffd"), None)
        if stop is not None:
            code, stopped, err = run(*args, "--stop", stop)
            self.assertEqual(code, 0, err)
            self.assertIn(stop, stopped)
            self.assertTrue(text.startswith(stopped[:-1]), (stopped, text))
            self.assertLessEqual(len(stopped), len(greedy))
        # Sampling: the same seed repeats, the text differs from another seed's at a high temperature.
        sample = ["--temperature", "5", "--top-k", "0", "--max-new-tokens", "32"]
        first = run(*args[:-2], *sample, "--seed", "1")[1]
        self.assertEqual(run(*args[:-2], *sample, "--seed", "1")[1], first)
        self.assertNotEqual(run(*args[:-2], *sample, "--seed", "2")[1], first)

    def test_generate_streams_and_reads_prompts_from_stdin(self):
        code, out, err = run("generate", "--model", MODEL, "--max-new-tokens", "6", stdin="Q:1+2=\nQ:3+3=\n")
        self.assertEqual(code, 0, err)
        single = [run("generate", "--model", MODEL, "--max-new-tokens", "6", "--prompt", p)[1] for p in
                  ("Q:1+2=", "Q:3+3=")]
        self.assertEqual(out, "".join(single))
        # Streaming: the first text arrives while the process still runs (a long generation).
        process = subprocess.Popen([TOOL, "generate", "--model", MODEL, "--prompt", "Q:", "--max-new-tokens", "4000",
                                    "--temperature", "3", "--top-k", "0"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        first = process.stdout.read(1)
        still_running = process.poll() is None
        process.kill()
        process.communicate()
        self.assertTrue(first)
        self.assertTrue(still_running, "no text before the generation ended")

    def test_eval_and_score_agree_with_the_loss_definition(self):
        code, out, err = run("eval", "--model", MODEL, "--adapter", self.adapter_folder, "--data", self.data, "--json")
        self.assertEqual(code, 0, err)
        result = json.loads(out)
        self.assertEqual(result["rows"], 12)
        self.assertEqual(result["tokens"], 12)  # one digit each
        self.assertAlmostEqual(result["perplexity"], math.exp(result["loss"]), places=4)
        code, out, err = run("score", "--model", MODEL, "--adapter", self.adapter_folder, "--data", self.data)
        self.assertEqual(code, 0, err)
        scores = jsonl(out)
        self.assertEqual([row["line"] for row in scores], list(range(1, 13)))
        for row in scores:
            self.assertLessEqual(row["log_likelihood"], 0)
            self.assertEqual(row["tokens"], 1)
        # loss = -(sum of completion log-likelihoods) / (completion tokens): two code paths, one value.
        loss = -sum(row["log_likelihood"] for row in scores) / sum(row["tokens"] for row in scores)
        self.assertAlmostEqual(loss, result["loss"], places=4)
        # Human-readable eval.
        code, out, _ = run("eval", "--model", MODEL, "--data", self.data)
        self.assertEqual(code, 0)
        self.assertRegex(out, r"loss +[0-9.]+ nats per target token\nperplexity +[0-9.]+\ntokens +12")

    def test_one_thread_gives_the_same_results(self):
        args = ["--model", MODEL, "--adapter", self.adapter_folder, "--data", self.data]
        code, out, err = run("eval", *args, "--json")
        self.assertEqual(code, 0, err)
        default = json.loads(out)
        code, out, err = run("eval", *args, "--json", "--threads", "1")
        self.assertEqual(code, 0, err)
        one = json.loads(out)
        self.assertEqual(one["tokens"], default["tokens"])
        self.assertAlmostEqual(one["loss"], default["loss"], places=4)
        code, out, err = run("score", *args, "--threads", "1")
        self.assertEqual(code, 0, err)
        self.assertAlmostEqual(-sum(row["log_likelihood"] for row in jsonl(out)) / one["tokens"], one["loss"], places=4)
        code, out, err = run("generate", "--model", MODEL, "--prompt", "Q:1+2=", "--max-new-tokens", "8",
                             "--threads", "1")
        self.assertEqual(code, 0, err)
        self.assertGreater(len(out), 1)
        code, _, err = run("train", "--model", MODEL, "--data", self.data, "--steps", "1", "--virtual-tokens", "2",
                           "--output", os.path.join(self.folder, "one-thread.spa"), "--samples", "0", "--threads", "1")
        self.assertEqual(code, 0, err)

    def test_label_accuracy_is_the_best_scoring_label(self):
        rows = label_rows(10)
        data = write_jsonl(os.path.join(self.folder, "labels.jsonl"), rows)
        code, out, err = run("eval", "--model", MODEL, "--adapter", self.adapter_folder, "--data", data, "--json")
        self.assertEqual(code, 0, err)
        result = json.loads(out)
        self.assertEqual(result["labels"], ["A", "B"])
        # Recomputed from `score`: each row with each label as its completion.
        pairs = write_jsonl(os.path.join(self.folder, "pairs.jsonl"),
                            [{"prompt": row["text"], "completion": label} for row in rows for label in ("A", "B")])
        code, out, err = run("score", "--model", MODEL, "--adapter", self.adapter_folder, "--data", pairs)
        self.assertEqual(code, 0, err)
        scores = [row["log_likelihood"] for row in jsonl(out)]
        predicted = ["A" if scores[2 * i] >= scores[2 * i + 1] else "B" for i in range(len(rows))]
        expected = sum(p == row["label"] for p, row in zip(predicted, rows)) / len(rows)
        self.assertAlmostEqual(result["accuracy"], expected)

    def test_inspect_model(self):
        code, out, err = run("inspect", MODEL, "--json")
        self.assertEqual(code, 0, err)
        info = json.loads(out)
        # The tiny llama: vocabulary 256, hidden 64, 2 layers (tests/tools/make_tiny_model); the
        # gpt2 tokenizer trained to 4001 ids by tests/reference/tokenizer_reference.py.
        self.assertEqual((info["kind"], info["model_type"], info["vocab_size"], info["hidden_size"],
                          info["num_layers"]), ("model", "llama", 256, 64, 2))
        self.assertEqual(info["chat_template"], "none")
        self.assertIsNotNone(info["tokenizer"])
        code, out, _ = run("inspect", MODEL)
        self.assertEqual(code, 0)
        self.assertIn("model_type:", out)

    def test_inspect_adapter(self):
        code, out, err = run("inspect", self.adapter_folder, "--json")
        self.assertEqual(code, 0, err)
        info = json.loads(out)
        self.assertEqual((info["kind"], info["format"], info["method"]), ("adapter", "peft-folder", "PROMPT_TUNING"))
        self.assertEqual(info["peft_config"]["num_virtual_tokens"], 5)
        self.assertEqual([t["shape"] for t in info["tensors"]], [[5, 64]])
        code, out, _ = run("inspect", self.adapter_folder)
        self.assertEqual(code, 0)
        self.assertIn("PROMPT_TUNING", out)

    def test_convert_round_trip(self):
        single = os.path.join(self.folder, "converted.spa")
        back = os.path.join(self.folder, "back")
        code, _, err = run("convert", "--model", MODEL, self.adapter_folder, single)
        self.assertEqual(code, 0, err)
        code, out, err = run("inspect", single, "--json")
        self.assertEqual(code, 0, err)
        self.assertEqual(json.loads(out)["format"], "single-file")
        code, _, err = run("convert", "--model", MODEL, single, back)
        self.assertEqual(code, 0, err)
        self.assertTrue(os.path.isfile(os.path.join(back, "adapter_model.safetensors")))
        original = adapter_values(self, self.adapter_folder)
        self.assertEqual(adapter_values(self, single), original)
        self.assertEqual(adapter_values(self, back), original)
        # The comparison can fail: a differently trained adapter has other values.
        other = os.path.join(self.folder, "other.spa")
        code, _, err = run("train", "--model", MODEL, "--data", self.data, "--steps", "1", "--virtual-tokens", "5",
                           "--output", other, "--samples", "0")
        self.assertEqual(code, 0, err)
        self.assertNotEqual(adapter_values(self, other), original)


class DefaultModel(unittest.TestCase):
    """`--model default` (SmolLM2-135M-Instruct from scripts/setup.sh) with its chat template; skipped
    where the default model is not installed."""

    @classmethod
    def setUpClass(cls):
        code, out, err = run("inspect", "default", "--json")
        if code != 0:
            raise unittest.SkipTest("no default model: " + err.strip())
        cls.info = json.loads(out)

    def test_inspect_default(self):
        # SmolLM2-135M-Instruct: 30 llama layers of 576, ChatML, <|im_end|> (id 2) ends a turn.
        self.assertEqual((self.info["model_type"], self.info["num_layers"], self.info["hidden_size"]),
                         ("llama", 30, 576))
        self.assertEqual(self.info["chat_template"], "ChatML")
        self.assertEqual(self.info["eos_ids"], [2])

    def test_chat_generation_and_the_end_of_turn_target(self):
        code, out, err = run("generate", "--chat", "--prompt", "Name a colour.", "--max-new-tokens", "12")
        self.assertEqual(code, 0, err)
        self.assertTrue(out.strip())
        # --chat scores the completion followed by the end-of-turn token: one target token more.
        folder = scratch("default_model")
        data = write_jsonl(os.path.join(folder, "d.jsonl"), [{"prompt": "Name a colour.", "completion": "Blue"}])
        plain = jsonl(run("score", "--data", data)[1])
        chat = jsonl(run("score", "--data", data, "--chat")[1])
        self.assertEqual(chat[0]["tokens"], plain[0]["tokens"] + 1)


def main():
    global TOOL, MODEL, SCRATCH
    parser = argparse.ArgumentParser()
    parser.add_argument("--tool", required=True)
    parser.add_argument("--model", required=True, help="the tiny llama with a tokenizer")
    parser.add_argument("--scratch", required=True)
    args, rest = parser.parse_known_args()
    TOOL, MODEL, SCRATCH = os.path.abspath(args.tool), os.path.abspath(args.model), os.path.abspath(args.scratch)
    os.makedirs(SCRATCH, exist_ok=True)
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()
