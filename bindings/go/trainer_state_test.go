package softprompt

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const stateSteps = 6

func stateTrainerOptions(learningRate float64) *TrainerOptions {
	opts := DefaultTrainerOptions()
	opts.LearningRate = learningRate
	opts.WarmupSteps = 1
	opts.TotalSteps = 4
	opts.MaxGradNorm = 0.5
	opts.AccumulationSteps = 2
	return &opts
}

// stateBatch is micro-batch step of the runs: other tokens and tasks at every step.
func stateBatch(step int) Batch {
	ids := make([]int32, 2*6)
	for i := range ids {
		ids[i] = int32(3 + (step*37+i*11)%250)
	}
	return Batch{InputIDs: ids, TaskIDs: []int32{int32(step % 2), int32(1 - step%2)}, BatchSize: 2, SeqLen: 6}
}

func allParameters(t *testing.T, a *Adapter) []float32 {
	t.Helper()
	var all []float32
	for _, name := range try(a.ParameterNames()).get(t) {
		all = append(all, try(a.Parameter(name)).get(t)...)
	}
	return all
}

func trainSteps(t *testing.T, trainer *Trainer, first, end int, results []TrainResult) {
	t.Helper()
	for step := first; step < end; step++ {
		results[step] = try(trainer.Step(stateBatch(step))).get(t)
	}
}

// A run cut by SaveState (mid-accumulation) and resumed by LoadState in a fresh adapter (another
// seed) and trainer (other settings) goes on exactly as the uncut run, bit for bit, for every
// method; the user state comes back; DescribeAdapter reads the state file.
func TestTrainerStatesResumeExactly(t *testing.T) {
	for _, c := range methodCases {
		c := c
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "run.spstate")
			straight := make([]TrainResult, stateSteps)
			resumed := make([]TrainResult, stateSteps)
			adapter := newTestAdapter(t, c.adapterOptions())
			trainer := try(NewTrainer(adapter, stateTrainerOptions(c.learningRate))).get(t)
			trainSteps(t, trainer, 0, stateSteps, straight)
			expected := allParameters(t, adapter)
			trainer.Close()

			adapter = newTestAdapter(t, c.adapterOptions())
			trainer = try(NewTrainer(adapter, stateTrainerOptions(c.learningRate))).get(t)
			trainSteps(t, trainer, 0, 3, resumed)
			user := []byte("epoch 1, position 3")
			if err := trainer.SaveState(path, user); err != nil {
				t.Fatal(err)
			}
			trainer.Close()

			fresh := c.adapterOptions()
			fresh.Seed = 77
			adapter = newTestAdapter(t, fresh)
			other := DefaultTrainerOptions()
			other.LearningRate = 1
			trainer = try(NewTrainer(adapter, &other)).get(t)
			defer trainer.Close()
			if equalFloats(allParameters(t, adapter), expected) {
				t.Fatal("the fresh adapter starts where the run ended")
			}
			if back := try(trainer.LoadState(path)).get(t); !bytes.Equal(back, user) {
				t.Fatalf("user state %q, saved %q", back, user)
			}
			trainSteps(t, trainer, 3, stateSteps, resumed)
			for step := range straight {
				if math.Float32bits(straight[step].Loss) != math.Float32bits(resumed[step].Loss) ||
					straight[step].UpdatesDone != resumed[step].UpdatesDone {
					t.Errorf("step %d: straight %+v, resumed %+v", step, straight[step], resumed[step])
				}
			}
			if got := allParameters(t, adapter); !equalFloats(got, expected) {
				t.Errorf("parameters differ after the resumed run (max |diff| %g)", maxDifference(t, expected, got))
			}
			json := try(DescribeAdapter(path)).get(t)
			for _, want := range []string{`"format":"trainer-state"`, `"micro_steps":3`,
				`"user_state_size":` + strconv.Itoa(len(user))} {
				if !strings.Contains(json, want) {
					t.Errorf("the description lacks %s: %s", want, json)
				}
			}
		})
	}
}

// A state for another size is refused and changes nothing; user states larger than the first
// buffer come back whole; none comes back empty.
func TestRefusedTrainerStatesChangeNothing(t *testing.T) {
	dir := t.TempDir()
	small := newTestAdapter(t, smallAdapterOptions(1))
	smallTrainer := try(NewTrainer(small, stateTrainerOptions(0.01))).get(t)
	defer smallTrainer.Close()
	other := filepath.Join(dir, "other.spstate")
	if err := smallTrainer.SaveState(other, nil); err != nil {
		t.Fatal(err)
	}
	opts := smallAdapterOptions(2)
	opts.NumVirtualTokens = 6
	adapter := newTestAdapter(t, opts)
	trainer := try(NewTrainer(adapter, stateTrainerOptions(0.01))).get(t)
	defer trainer.Close()
	trainSteps(t, trainer, 0, 1, make([]TrainResult, stateSteps))
	before := allParameters(t, adapter)
	_, err := trainer.LoadState(other)
	requireStatus(t, err, StatusShapeMismatch)
	_, err = trainer.LoadState(filepath.Join(dir, "none"))
	requireStatus(t, err, StatusNotFound)
	if !equalFloats(before, allParameters(t, adapter)) {
		t.Fatal("a refused load changed the adapter")
	}
	large := make([]byte, 10000)
	for i := range large {
		large[i] = byte(i * 13)
	}
	path := filepath.Join(dir, "large.spstate")
	if err := trainer.SaveState(path, large); err != nil {
		t.Fatal(err)
	}
	if back := try(trainer.LoadState(path)).get(t); !bytes.Equal(back, large) {
		t.Fatalf("the large user state came back as %d bytes", len(back))
	}
	if err := trainer.SaveState(path, nil); err != nil {
		t.Fatal(err)
	}
	if back := try(trainer.LoadState(path)).get(t); len(back) != 0 {
		t.Fatalf("no user state came back as %d bytes", len(back))
	}
}

func TestDescribeAdapter(t *testing.T) {
	dir := t.TempDir()
	adapter := newTestAdapter(t, smallAdapterOptions(1)) // 4 x 64
	if err := adapter.Save(filepath.Join(dir, "folder")); err != nil {
		t.Fatal(err)
	}
	if err := adapter.SaveFile(filepath.Join(dir, "adapter.spadapter")); err != nil {
		t.Fatal(err)
	}
	folder := try(DescribeAdapter(filepath.Join(dir, "folder"))).get(t)
	for _, want := range []string{`"format":"peft-folder"`, `"name":"prompt_embeddings","shape":[4,64]`, `"parameter_count":256`} {
		if !strings.Contains(folder, want) {
			t.Errorf("the folder's description lacks %s: %s", want, folder)
		}
	}
	file := try(DescribeAdapter(filepath.Join(dir, "adapter.spadapter"))).get(t)
	for _, want := range []string{`"format":"single-file"`, `"method":"PROMPT_TUNING"`, `"model_type":"llama"`} {
		if !strings.Contains(file, want) {
			t.Errorf("the file's description lacks %s: %s", want, file)
		}
	}
	_, err := DescribeAdapter(filepath.Join(dir, "missing"))
	requireStatus(t, err, StatusNotFound)
	if err := os.WriteFile(filepath.Join(dir, "text.txt"), []byte("not an adapter"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = DescribeAdapter(filepath.Join(dir, "text.txt"))
	requireStatus(t, err, StatusFormat)
}

// SmolLM2-Instruct's chat_template, as its tokenizer_config.json holds it.
const smolLM2Template = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}" +
	"{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}" +
	"{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
	"{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

const smolLM2DefaultSystem = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"

// chatTokenizer loads the byte-level tokenizer.json beside a tokenizer_config.json of config (none
// when empty).
func chatTokenizer(t *testing.T, config string) *Tokenizer {
	t.Helper()
	dir := t.TempDir()
	source := try(os.ReadFile(filepath.Join(tokenizerFixture(t).modelFolder, "tokenizer.json"))).get(t)
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), source, 0o644); err != nil {
		t.Fatal(err)
	}
	if config != "" {
		if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tok := try(LoadTokenizer(dir)).get(t)
	t.Cleanup(func() { tok.Close() })
	return tok
}

// ChatML conversations render as ChatML's format says (written out here), with SmolLM2's default
// system message when the conversation opens without one.
func TestApplyChatTemplate(t *testing.T) {
	tok := chatTokenizer(t, `{"chat_template": `+strconv.Quote(smolLM2Template)+`}`)
	got := try(tok.ApplyChatTemplate([]ChatMessage{{"user", "Héllo, 世界 🙂"}}, true)).get(t)
	if want := smolLM2DefaultSystem + "<|im_start|>user\nHéllo, 世界 🙂<|im_end|>\n<|im_start|>assistant\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	got = try(tok.ApplyChatTemplate([]ChatMessage{{"system", "Be brief."}, {"user", "2+2?"}, {"assistant", "4"},
		{"user", ""}}, false)).get(t)
	want := "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n" +
		"<|im_start|>assistant\n4<|im_end|>\n<|im_start|>user\n<|im_end|>\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	long := strings.Repeat("é", 3000) // longer than the first buffer
	got = try(tok.ApplyChatTemplate([]ChatMessage{{"system", long}}, false)).get(t)
	if want := "<|im_start|>system\n" + long + "<|im_end|>\n"; got != want {
		t.Errorf("a long message came back as %d bytes, want %d", len(got), len(want))
	}
	_, err := tok.ApplyChatTemplate([]ChatMessage{{"us\x00er", "hi"}}, true)
	requireStatus(t, err, StatusInvalidArgument)

	_, err = chatTokenizer(t, "").ApplyChatTemplate([]ChatMessage{{"user", "hi"}}, true)
	requireStatus(t, err, StatusNotFound)
	llama2 := `{"chat_template": "{{ bos_token }}{% for message in messages %}[INST] {{ message['content'] }} [/INST]{% endfor %}"}`
	_, err = chatTokenizer(t, llama2).ApplyChatTemplate([]ChatMessage{{"user", "hi"}}, true)
	requireStatus(t, err, StatusUnsupported)
}
