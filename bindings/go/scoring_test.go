package softprompt

// Scoring, prefill and decode through Go, checked against each other with the arithmetic written
// out here: a continuation's log-likelihood is the sum of log-softmax(next-token logits) at its
// tokens, and prefill plus one decode step gives the logits of prefilling the longer prompt.
// ProcessLogits is checked on hand-computed values of transformers' processors.

import (
	"math"
	"testing"
)

// logSoftmaxAt is log(softmax(logits)[id]), in float64.
func logSoftmaxAt(logits []float32, id int32) float64 {
	highest := math.Inf(-1)
	for _, v := range logits {
		highest = math.Max(highest, float64(v))
	}
	sum := 0.0
	for _, v := range logits {
		sum += math.Exp(float64(v) - highest)
	}
	return float64(logits[id]) - highest - math.Log(sum)
}

func closeTo(a, b, tolerance float64) bool { return math.Abs(a-b) <= tolerance }

func TestScoringAgreesWithPrefillLogits(t *testing.T) {
	vocab := llama.info.VocabSize
	adapter := newTestAdapter(t, smallAdapterOptions(9))
	for _, a := range []*Adapter{nil, adapter} {
		c := newTestContext(t, llama, a, 2, 64)
		prompts := Prompts{IDs: [][]int32{{11, 12, 13, 14}, {40, 41, 42, 43, 44, 45, 46}}}
		continuations := [][]int32{{77}, {200}}
		scores := try(c.Score(prompts, continuations)).get(t)
		logits := try(c.Prefill(prompts)).get(t)
		if len(scores) != 2 || len(logits) != 2*vocab {
			t.Fatalf("%d scores, %d logits", len(scores), len(logits))
		}
		for r, next := range continuations {
			want := logSoftmaxAt(logits[r*vocab:(r+1)*vocab], next[0])
			if !closeTo(float64(scores[r]), want, 1e-4) {
				t.Errorf("adapter %v, row %d: Score %v; log-softmax of Prefill's logits %v", a != nil, r, scores[r], want)
			}
		}

		// Two tokens: log p(a | prompt) + log p(b | prompt, a), the second from one Decode step,
		// whose logits are those of prefilling the prompt with a appended.
		prompt := Prompts{IDs: prompts.IDs[:1]}
		first := try(c.Prefill(prompt)).get(t)
		second := try(c.Decode([]int32{77})).get(t)
		longer := try(c.Prefill(Prompts{IDs: [][]int32{append(append([]int32{}, prompts.IDs[0]...), 77)}})).get(t)
		for i := range second {
			if !closeTo(float64(second[i]), float64(longer[i]), 1e-4) {
				t.Fatalf("adapter %v: Decode's logit %d is %v; Prefill of the longer prompt gives %v", a != nil, i,
					second[i], longer[i])
			}
		}
		pair := try(c.Score(prompt, [][]int32{{77, 5}})).get(t)
		want := logSoftmaxAt(first, 77) + logSoftmaxAt(second, 5)
		if !closeTo(float64(pair[0]), want, 1e-4) {
			t.Errorf("adapter %v: two-token Score %v; want %v", a != nil, pair[0], want)
		}
	}
}

// Score takes more pairs than MaxBatchSize (run MaxBatchSize at a time), each as if alone.
func TestScoringMorePairsThanTheBatch(t *testing.T) {
	c := newTestContext(t, llama, nil, 2, 64)
	prompts := mixedPrompts()
	continuations := [][]int32{{3, 4}, {5}, {6, 7, 8}}
	all := try(c.Score(prompts, continuations)).get(t)
	for r := range prompts.IDs {
		alone := try(c.Score(Prompts{IDs: prompts.IDs[r : r+1]}, continuations[r:r+1])).get(t)
		if !closeTo(float64(all[r]), float64(alone[0]), 1e-4) {
			t.Errorf("pair %d: %v in a batch of 3; %v alone", r, all[r], alone[0])
		}
		if all[r] >= 0 {
			t.Errorf("pair %d: log-likelihood %v is not negative", r, all[r])
		}
	}
}

// transformers' processors on [2, -2, 1, 0.5]: RepetitionPenaltyLogitsProcessor divides the
// positive logits of seen ids and multiplies the negative ones; temperature divides everything;
// top-k keeps the k largest (the others become -inf).
func TestProcessLogitsAppliesTheProcessors(t *testing.T) {
	cases := []struct {
		name    string
		set     func(*GenerateOptions)
		history []int32
		want    []float32
	}{
		{"repetition penalty 2 (greedy)", func(o *GenerateOptions) { o.RepetitionPenalty = 2 }, []int32{0, 1, 1},
			[]float32{1, -4, 1, 0.5}},
		{"temperature 0.5", func(o *GenerateOptions) { o.DoSample, o.Temperature, o.TopK = true, 0.5, 0 }, nil,
			[]float32{4, -4, 2, 1}},
		{"top-k 2", func(o *GenerateOptions) { o.DoSample, o.TopK = true, 2 }, nil,
			[]float32{2, float32(math.Inf(-1)), 1, float32(math.Inf(-1))}},
		{"greedy ignores top-k", func(o *GenerateOptions) { o.TopK = 1 }, nil, []float32{2, -2, 1, 0.5}},
	}
	for _, c := range cases {
		opts := DefaultGenerateOptions()
		c.set(&opts)
		logits := []float32{2, -2, 1, 0.5}
		if err := ProcessLogits(&opts, c.history, logits); err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		for i := range logits {
			if !(logits[i] == c.want[i] || closeTo(float64(logits[i]), float64(c.want[i]), 1e-6)) {
				t.Errorf("%s: %v; want %v", c.name, logits, c.want)
				break
			}
		}
	}
	expectStatus(t, ProcessLogits(nil, []int32{4}, []float32{2, -2, 1, 0.5}), StatusOutOfRange)
	bad := DefaultGenerateOptions()
	bad.DoSample, bad.Temperature = true, 0
	expectStatus(t, ProcessLogits(&bad, nil, []float32{2, -2, 1, 0.5}), StatusInvalidArgument)
}
