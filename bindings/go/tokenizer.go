package softprompt

import (
	"math"
	"runtime"
	"strings"
)

// Tokenizer turns text into token ids and back, with the ids Hugging Face `tokenizers` gives for
// the same tokenizer.json: BPE (byte-level, or SentencePiece-style with byte fallback), WordPiece
// and Unigram, with their normalizers, pre-tokenizers, post-processors, decoders and added tokens.
// Open one with LoadTokenizer, or take a model's with (*Model).Tokenizer. A tokenizer is
// immutable: any number of goroutines may use one at the same time.
//
// Text goes to the library as the string's bytes with their length: it may hold NUL bytes, and
// it is not converted. A Go string may hold invalid UTF-8; the library refuses such text with
// StatusInvalidArgument, and the message gives the byte offset of the first invalid byte (nothing
// is replaced silently). Decoded text is always valid UTF-8: where the ids end inside a character
// (a byte-level vocabulary), the incomplete character becomes U+FFFD, as `tokenizers` does.
type Tokenizer struct {
	object[Sp_tokenizer]
	info TokenizerInfo // immutable, read once when opened
}

// TokenizerInfo gives a tokenizer's vocabulary size and special ids (-1: none).
type TokenizerInfo struct {
	VocabSize int   // ids run from 0 to VocabSize-1, added tokens included (some may be unused)
	BosID     int32 // beginning of sequence
	EosID     int32 // end of sequence (the first one where the model lists several)
	PadID     int32
	UnkID     int32
}

// tokenBytesGuess is the first buffer for one vocabulary string; longer ones cost a second call.
const tokenBytesGuess = 64

// LoadTokenizer opens a tokenizer.json file, or a folder that holds one (then its
// tokenizer_config.json, special_tokens_map.json, generation_config.json and config.json give
// the special ids). Errors: StatusNotFound, StatusFormat, StatusUnsupported (an unknown component,
// named), StatusIO.
func LoadTokenizer(path string) (*Tokenizer, error) {
	if err := checkString("tokenizer path", path); err != nil {
		return nil, err
	}
	handle, err := lockedCall(func() (Sp_tokenizer, bool) { return created(Spb_tokenizer_load(path)) })
	if err != nil {
		return nil, err
	}
	return newTokenizer(handle)
}

// Tokenizer returns the tokenizer of the model's folder (its tokenizer.json, read when the model
// was loaded): a new Tokenizer of the caller's, to close, which stays usable after the model is
// closed. Errors: StatusNotFound when the folder had no tokenizer.json, or the error its
// tokenizer.json gave (StatusFormat, StatusUnsupported).
func (m *Model) Tokenizer() (*Tokenizer, error) {
	handle, err := handleCall(&m.object, func(h Sp_model) (Sp_tokenizer, bool) {
		return created(Spb_model_tokenizer(h))
	})
	if err != nil {
		return nil, err
	}
	return newTokenizer(handle)
}

// newTokenizer wraps a new handle and reads its info once.
func newTokenizer(handle Sp_tokenizer) (*Tokenizer, error) {
	t := &Tokenizer{object: newObject(handle, "Tokenizer")}
	runtime.SetFinalizer(t, (*Tokenizer).Close)
	info, err := handleCall(&t.object, func(h Sp_tokenizer) (TokenizerInfo, bool) {
		r := Spb_tokenizer_info(h)
		return r.info, r.ok
	})
	if err != nil {
		t.Close()
		return nil, err
	}
	t.info = info
	return t, nil
}

// Close releases the tokenizer. Closing twice is a no-op; calls after Close return an error with
// StatusInvalidHandle.
func (t *Tokenizer) Close() error {
	t.close(Sp_tokenizer_free)
	runtime.SetFinalizer(t, nil)
	return nil
}

// Info returns the vocabulary size and special ids.
func (t *Tokenizer) Info() (TokenizerInfo, error) {
	if _, err := t.acquire(); err != nil {
		return TokenizerInfo{}, err
	}
	t.release()
	return t.info, nil
}

// Encode returns the ids of text. With addSpecialTokens, the post-processor's special tokens are
// added (BERT's [CLS] and [SEP], LLaMA's <s>), as `tokenizers`' encode does by default. Invalid
// UTF-8 is StatusInvalidArgument.
func (t *Tokenizer) Encode(text string, addSpecialTokens bool) ([]int32, error) {
	flag := cFlag(addSpecialTokens)
	// Text bytes + 16: no vocabulary gives more than one id per byte, plus a few special tokens;
	// a larger result costs a second call.
	ids := make([]int32, len(text)+16)
	count, err := handleCall(&t.object, func(h Sp_tokenizer) (int64, bool) {
		n := Spb_tokenizer_encode(h, text, flag, ids)
		if n > int64(len(ids)) {
			ids = make([]int32, n)
			n = Spb_tokenizer_encode(h, text, flag, ids)
		}
		return n, n >= 0 && n <= int64(len(ids))
	})
	if err != nil {
		return nil, err
	}
	return ids[:count:count], nil
}

// Decode returns the text of ids, through the tokenizer's decoder. With skipSpecialTokens, special
// tokens (added tokens marked special) are left out. An id the vocabulary does not have is
// StatusOutOfRange.
func (t *Tokenizer) Decode(ids []int32, skipSpecialTokens bool) (string, error) {
	flag := cFlag(skipSpecialTokens)
	// Eight bytes per id cover most vocabularies' strings; a longer text costs a second call.
	return t.readText(len(ids)*8+64, func(h Sp_tokenizer, out []byte) int64 {
		return Spb_tokenizer_decode(h, ids, flag, out)
	})
}

// IDToToken returns the vocabulary string of id ("Ġworld" in a byte-level vocabulary, "##ing" in
// WordPiece, an added token's content). An id the vocabulary does not have is StatusOutOfRange.
func (t *Tokenizer) IDToToken(id int32) (string, error) {
	return t.readText(tokenBytesGuess, func(h Sp_tokenizer, out []byte) int64 {
		return Spb_tokenizer_id_to_token(h, int(id), out)
	})
}

// TokenToID returns the id of a vocabulary string (an added token's content included);
// StatusNotFound when the vocabulary has no such token.
func (t *Tokenizer) TokenToID(token string) (int32, error) {
	return handleCall(&t.object, func(h Sp_tokenizer) (int32, bool) {
		id := int32(Spb_tokenizer_token_to_id(h, token))
		return id, id >= 0
	})
}

// readText runs call, which writes text into its buffer (with a NUL after it) and returns the
// text's full size (or -1), through readSized.
func (t *Tokenizer) readText(guess int, call func(Sp_tokenizer, []byte) int64) (string, error) {
	out, err := handleCall(&t.object, func(h Sp_tokenizer) ([]byte, bool) {
		return readSized(guess, 1, func(buffer []byte) int64 { return call(h, buffer) })
	})
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// readSized runs call, which writes into its buffer and returns the full size (or -1), with a
// buffer of guess bytes, and once more with one of the size it reported when that was too small.
// reserve is 1 when the library writes a NUL after the bytes (they fit only when their size is
// below the buffer's length). Run it inside lockedCall: ok false means the call failed.
func readSized(guess, reserve int, call func([]byte) int64) (out []byte, ok bool) {
	if guess < reserve {
		guess = reserve
	}
	out = make([]byte, guess)
	n := call(out)
	if n > int64(len(out)-reserve) {
		out = make([]byte, n+int64(reserve))
		n = call(out)
	}
	if n < 0 || n > int64(len(out)-reserve) {
		return nil, false
	}
	return out[:n:n], true
}

// ChatMessage is one message of a conversation, for ApplyChatTemplate.
type ChatMessage struct {
	Role    string // "system", "user", "assistant", ...
	Content string
}

// ApplyChatTemplate renders a conversation with the tokenizer's chat template (tokenizer_config.json's
// "chat_template", a GGUF file's), as the template would; encode the result without special tokens.
// With addGenerationPrompt the text ends with the assistant's opening. Templates are recognised by
// family (ChatML: SmolLM2, Qwen2): StatusNotFound when the tokenizer has none, StatusUnsupported
// for another family.
func (t *Tokenizer) ApplyChatTemplate(messages []ChatMessage, addGenerationPrompt bool) (string, error) {
	var roles, contents strings.Builder
	sizes := make([]int32, len(messages))
	for i, message := range messages {
		if err := checkString("a message's role", message.Role); err != nil {
			return "", err
		}
		if len(message.Content) > math.MaxInt32 {
			return "", newError(StatusInvalidArgument, "a message's content is larger than 2 GiB")
		}
		roles.WriteString(message.Role)
		roles.WriteByte(0) // each role ends with a NUL
		contents.WriteString(message.Content)
		sizes[i] = int32(len(message.Content))
	}
	flag := cFlag(addGenerationPrompt)
	roleText, contentText := roles.String(), contents.String()
	return t.readText(len(contentText)+64*len(messages)+64, func(h Sp_tokenizer, out []byte) int64 {
		return Spb_tokenizer_apply_chat_template(h, roleText, contentText, sizes, flag, out)
	})
}

// cFlag is the C library's 1 or 0 for a bool.
func cFlag(on bool) int {
	if on {
		return 1
	}
	return 0
}
