package softprompt

import (
	"path/filepath"
	"runtime"
	"testing"
)

// Every method of a closed Model, Adapter or Trainer returns SP_ERR_INVALID_HANDLE instead of
// touching freed memory, and Close is idempotent.
func TestUseAfterCloseIsAnError(t *testing.T) {
	model := try(Open(filepath.Join(testModels, "llama"), nil)).get(t)
	adapter := try(NewAdapter(model, ptr(smallAdapterOptions(1)))).get(t)
	trainer := try(NewTrainer(adapter, nil)).get(t)
	batch := taskBatch()
	folder := t.TempDir()

	for _, closer := range []interface{ Close() error }{trainer, adapter, model} {
		for i := 0; i < 2; i++ {
			if err := closer.Close(); err != nil {
				t.Fatalf("Close #%d of %T: %v", i+1, closer, err)
			}
		}
	}
	calls := map[string]func() error{
		"Model.Info":             func() error { _, err := model.Info(); return err },
		"Model.Logits":           func() error { _, err := model.Logits(batch, LogitsLast); return err },
		"Model.EvalLoss":         func() error { _, err := model.EvalLoss(batch); return err },
		"NewAdapter":             func() error { _, err := NewAdapter(model, nil); return err },
		"LoadAdapter":            func() error { _, err := LoadAdapter(model, folder); return err },
		"LoadAdapterFile":        func() error { _, err := LoadAdapterFile(model, folder); return err },
		"Adapter.Info":           func() error { _, err := adapter.Info(); return err },
		"Adapter.Logits":         func() error { _, err := adapter.Logits(batch, LogitsAll); return err },
		"Adapter.EvalLoss":       func() error { _, err := adapter.EvalLoss(batch); return err },
		"Adapter.Save":           func() error { return adapter.Save(folder) },
		"Adapter.SaveFile":       func() error { return adapter.SaveFile(filepath.Join(folder, "a.spadapter")) },
		"Adapter.ParameterNames": func() error { _, err := adapter.ParameterNames(); return err },
		"Adapter.Parameter":      func() error { _, err := adapter.Parameter("embedding.weight"); return err },
		"Adapter.ParameterShape": func() error { _, err := adapter.ParameterShape("embedding.weight"); return err },
		"NewTrainer":             func() error { _, err := NewTrainer(adapter, nil); return err },
		"Trainer.Step":           func() error { _, err := trainer.Step(batch); return err },
		"Trainer.Gradient":       func() error { _, err := trainer.Gradient("embedding.weight"); return err },
	}
	for name, call := range calls {
		spErr := requireStatus(t, call(), StatusInvalidHandle)
		if name == "Adapter.Info" {
			t.Logf("%s after Close: %v", name, spErr)
		}
	}
}

// Closing in any order is safe: an adapter keeps working after its model is closed, and a trainer
// after its adapter is closed (the C objects keep what they depend on alive).
func TestClosingInAnyOrder(t *testing.T) {
	model := try(Open(filepath.Join(testModels, "llama"), nil)).get(t)
	adapter := try(NewAdapter(model, ptr(smallAdapterOptions(1)))).get(t)
	trainer := try(NewTrainer(adapter, nil)).get(t)
	want := try(adapter.Logits(taskBatch(), LogitsLast)).get(t)

	model.Close()
	requireIdentical(t, "logits after the model was closed", try(adapter.Logits(taskBatch(), LogitsLast)).get(t), want)
	adapter.Close()
	try(trainer.Step(taskBatch())).get(t)
	if g := try(trainer.Gradient("embedding.weight")).get(t); len(g) != 4*64 {
		t.Fatalf("gradient of %d values, want 4*64", len(g))
	}
	if trainer.Adapter() != adapter || adapter.Model() != model {
		t.Fatal("a trainer must return its adapter and an adapter its model")
	}
	trainer.Close()
}

// Objects that are never closed are freed by their finalizers once unreachable, without
// disturbing a live adapter whose model the program no longer references (the adapter keeps it).
func TestFinalizersAreASafetyNet(t *testing.T) {
	adapter := func() *Adapter {
		model := try(Open(filepath.Join(testModels, "llama"), nil)).get(t)
		for i := 0; i < 20; i++ {
			a := try(NewAdapter(model, ptr(smallAdapterOptions(uint64(i))))).get(t)
			try(NewTrainer(a, nil)).get(t) // dropped unclosed
		}
		return try(NewAdapter(model, ptr(smallAdapterOptions(1)))).get(t)
	}()
	for i := 0; i < 5; i++ {
		runtime.GC()
	}
	if _, err := adapter.Model().Info(); err != nil {
		t.Fatalf("the model of a live adapter was finalized: %v", err)
	}
	try(adapter.Logits(taskBatch(), LogitsLast)).get(t)
	adapter.Close()
}

func ptr[T any](v T) *T { return &v }
