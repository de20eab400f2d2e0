package softprompt

// Through Go, a tokenizer gives the ids and texts that Hugging Face `tokenizers` gives for the same
// tokenizer.json (byte-level BPE, SentencePiece BPE with byte fallback, WordPiece, Unigram), on
// non-ASCII text, text holding NUL and the empty text. The expected values are the records of
// tests/reference/tokenizer_binding_reference.py (ctest fixture tokenizer_binding_reference), whose
// file SP_TOKENIZER_EXPECTED names.

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// mixedText is the fixture's non-ASCII text: Cyrillic, CJK, emoji with a modifier and a ZWJ sequence.
const mixedText = "Привет, мир! 你好，世界。 Emoji: 👋🏽 👨\u200d👩\u200d👧\u200d👦 ✨"

type tokenizerText struct {
	text            string
	withSpecial     []int32
	withoutSpecial  []int32
	decoded         string // decode(withSpecial, skip_special_tokens=False)
	decodedSkipping string // decode(withSpecial, skip_special_tokens=True)
}

type tokenizerFamily struct {
	name, path string
	info       TokenizerInfo
	texts      []tokenizerText
	tokenIDs   []int32          // in the file's order
	tokens     map[int32]string // id -> id_to_token(id)
	back       map[int32]int32  // id -> token_to_id(id_to_token(id)), -1: none
}

type tokenizerReference struct {
	families    []*tokenizerFamily
	modelFolder string // the tiny llama model with the gpt2 tokenizer.json
	modelFamily string
	tokenizers  map[string]*Tokenizer
	byName      map[string]*tokenizerFamily
	loadErr     error
}

var (
	tokenizerRef  tokenizerReference
	tokenizerOnce sync.Once
)

// tokenizerFixture reads the expected file and opens every tokenizer in it, once for all tests
// (the tokenizers are shared: a tokenizer is safe for concurrent use).
func tokenizerFixture(t *testing.T) *tokenizerReference {
	t.Helper()
	tokenizerOnce.Do(func() { tokenizerRef.loadErr = tokenizerRef.load(os.Getenv("SP_TOKENIZER_EXPECTED")) })
	if tokenizerRef.loadErr != nil {
		t.Fatal(tokenizerRef.loadErr)
	}
	return &tokenizerRef
}

func (r *tokenizerReference) load(file string) error {
	if file == "" {
		return errors.New("SP_TOKENIZER_EXPECTED is not set: run the tests with ctest -R go_tests")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	r.byName = map[string]*tokenizerFamily{}
	r.tokenizers = map[string]*Tokenizer{}
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		f := strings.Split(line, "\t")
		switch f[0] {
		case "tokenizer":
			family := &tokenizerFamily{name: f[1], path: f[2], tokens: map[int32]string{}, back: map[int32]int32{}}
			family.info = TokenizerInfo{VocabSize: atoi(f[3]), BosID: int32(atoi(f[4])), EosID: int32(atoi(f[5])),
				PadID: int32(atoi(f[6])), UnkID: int32(atoi(f[7]))}
			r.families = append(r.families, family)
			r.byName[family.name] = family
			if r.tokenizers[family.name], err = LoadTokenizer(family.path); err != nil {
				return err
			}
		case "text":
			r.byName[f[1]].texts = append(r.byName[f[1]].texts, tokenizerText{
				text: unhex(f[2]), withSpecial: idList(f[3]), withoutSpecial: idList(f[4]),
				decoded: unhex(f[5]), decodedSkipping: unhex(f[6])})
		case "token":
			family, id := r.byName[f[1]], int32(atoi(f[2]))
			family.tokenIDs = append(family.tokenIDs, id)
			family.tokens[id] = unhex(f[3])
			family.back[id] = int32(atoi(f[4]))
		case "model":
			r.modelFolder, r.modelFamily = f[1], f[2]
		default:
			return errors.New("unknown record in " + file + ": " + f[0])
		}
	}
	return nil
}

// text is the record of text in family name (the fixture must have it).
func (r *tokenizerReference) text(t *testing.T, name, text string) tokenizerText {
	t.Helper()
	for _, record := range r.byName[name].texts {
		if record.text == text {
			return record
		}
	}
	t.Fatalf("the fixture has no record of %s for %q", name, text)
	return tokenizerText{}
}

func atoi(s string) int {
	v, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return v
}

func unhex(s string) string {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func idList(s string) []int32 {
	ids := []int32{}
	if s == "" {
		return ids
	}
	for _, part := range strings.Split(s, ",") {
		ids = append(ids, int32(atoi(part)))
	}
	return ids
}

func TestTokenizerEncodeGivesTheIdsOfTokenizers(t *testing.T) {
	r := tokenizerFixture(t)
	for _, family := range r.families {
		tok := r.tokenizers[family.name]
		for _, text := range family.texts {
			for _, c := range []struct {
				special bool
				want    []int32
			}{{true, text.withSpecial}, {false, text.withoutSpecial}} {
				got, err := tok.Encode(text.text, c.special)
				if err != nil || !reflect.DeepEqual(got, c.want) {
					t.Errorf("%s Encode(%s, %v) = %s, %v; want %s", family.name, brief(text.text), c.special, brief(got), err, brief(c.want))
				}
			}
		}
	}
	if len(r.text(t, "gpt2", mixedText).withoutSpecial) == 0 {
		t.Error("the fixture's ids of the mixed text are empty")
	}
}

// Both decodes equal tokenizers' decode of the ids with special tokens; the last text's decode is
// 1300 bytes for 100 ids, beyond the first buffer (8 bytes per id + 64), so it takes the second call.
func TestTokenizerDecodeGivesTheTextOfTokenizers(t *testing.T) {
	r := tokenizerFixture(t)
	for _, family := range r.families {
		tok := r.tokenizers[family.name]
		for _, text := range family.texts {
			for _, c := range []struct {
				skip bool
				want string
			}{{false, text.decoded}, {true, text.decodedSkipping}} {
				got, err := tok.Decode(text.withSpecial, c.skip)
				if err != nil || got != c.want {
					t.Errorf("%s Decode(ids of %s, %v) = %s, %v; want %s", family.name, brief(text.text), c.skip, brief(got), err, brief(c.want))
				}
			}
		}
	}
	specials := r.text(t, "gpt2", strings.Repeat("<|endoftext|>", 100))
	if got, err := r.tokenizers["gpt2"].Decode(specials.withSpecial, false); err != nil || len(got) != 1300 {
		t.Errorf("gpt2 Decode of 100 <|endoftext|>: %d bytes, %v; want 1300", len(got), err)
	}
}

// Byte-level BPE loses nothing: every text comes back exactly, NUL and emoji included.
func TestTokenizerByteLevelDecodeRoundTrips(t *testing.T) {
	r := tokenizerFixture(t)
	gpt2 := r.tokenizers["gpt2"]
	for _, text := range r.byName["gpt2"].texts {
		ids, err := gpt2.Encode(text.text, false)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := gpt2.Decode(ids, false); err != nil || got != text.text {
			t.Errorf("Decode(Encode(%s)) = %s, %v", brief(text.text), brief(got), err)
		}
	}
}

// BERT's post-processor puts [CLS] before and [SEP] after the text's ids (its template, written out
// here); T5's appends its eos. Skipping special tokens in decode drops them.
func TestTokenizerSpecialTokensOnAndOff(t *testing.T) {
	r := tokenizerFixture(t)
	bert := r.tokenizers["bert"]
	cls, err1 := bert.TokenToID("[CLS]")
	sep, err2 := bert.TokenToID("[SEP]")
	plain, err3 := bert.Encode(mixedText, false)
	special, err4 := bert.Encode(mixedText, true)
	for _, err := range []error{err1, err2, err3, err4} {
		if err != nil {
			t.Fatal(err)
		}
	}
	want := append(append([]int32{cls}, plain...), sep)
	if !reflect.DeepEqual(special, want) {
		t.Errorf("bert with special tokens = %v; want %v", special, want)
	}
	if kept, _ := bert.Decode(special, false); !strings.HasPrefix(kept, "[CLS] ") {
		t.Errorf("bert decode keeping special tokens = %q", kept)
	}
	if skipped, _ := bert.Decode(special, true); strings.Contains(skipped, "[CLS]") {
		t.Errorf("bert decode skipping special tokens = %q", skipped)
	}
	t5 := r.tokenizers["t5"]
	t5Plain, _ := t5.Encode(mixedText, false)
	t5Special, _ := t5.Encode(mixedText, true)
	info, _ := t5.Info()
	if want := append(append([]int32{}, t5Plain...), info.EosID); !reflect.DeepEqual(t5Special, want) {
		t.Errorf("t5 with special tokens = %v; want %v", t5Special, want)
	}
}

func TestTokenizerInfoGivesTheVocabularySizeAndSpecialIds(t *testing.T) {
	r := tokenizerFixture(t)
	for _, family := range r.families {
		if got, err := r.tokenizers[family.name].Info(); err != nil || got != family.info {
			t.Errorf("%s Info() = %+v, %v; want %+v", family.name, got, err, family.info)
		}
	}
}

func TestTokenizerIdsAndTokensMapBothWays(t *testing.T) {
	r := tokenizerFixture(t)
	for _, family := range r.families {
		tok := r.tokenizers[family.name]
		if len(family.tokenIDs) == 0 {
			t.Errorf("%s: no token records", family.name)
		}
		for _, id := range family.tokenIDs {
			if got, err := tok.IDToToken(id); err != nil || got != family.tokens[id] {
				t.Errorf("%s IDToToken(%d) = %q, %v; want %q", family.name, id, got, err, family.tokens[id])
			}
			got, err := tok.TokenToID(family.tokens[id])
			if back := family.back[id]; back >= 0 && (err != nil || got != back) {
				t.Errorf("%s TokenToID(%q) = %d, %v; want %d", family.name, family.tokens[id], got, err, back)
			} else if back < 0 {
				expectStatus(t, err, StatusNotFound)
			}
		}
	}
}

func TestTokenizerIdsOutsideTheVocabularyAreOutOfRange(t *testing.T) {
	r := tokenizerFixture(t)
	gpt2 := r.tokenizers["gpt2"]
	size := int32(r.byName["gpt2"].info.VocabSize)
	_, err := gpt2.Decode([]int32{5, size}, false)
	expectStatus(t, err, StatusOutOfRange)
	if err != nil && !strings.Contains(err.Error(), strconv.Itoa(int(size))) {
		t.Errorf("the message does not name the id %d: %v", size, err)
	}
	_, err = gpt2.IDToToken(size)
	expectStatus(t, err, StatusOutOfRange)
	_, err = gpt2.IDToToken(-1)
	expectStatus(t, err, StatusOutOfRange)
	_, err = gpt2.TokenToID("no such token \u2603")
	expectStatus(t, err, StatusNotFound)
	// Still usable after its errors.
	if got, err := gpt2.Encode(mixedText, false); err != nil || !reflect.DeepEqual(got, r.text(t, "gpt2", mixedText).withoutSpecial) {
		t.Errorf("Encode after errors = %v, %v", got, err)
	}
}

// A Go string may hold any bytes: invalid UTF-8 reaches the library unchanged and is refused there,
// with the offset of the first invalid byte (a stray continuation byte, an encoded surrogate, an
// overlong form, a truncated character).
func TestTokenizerInvalidUTF8IsInvalidArgument(t *testing.T) {
	r := tokenizerFixture(t)
	for _, family := range r.families {
		tok := r.tokenizers[family.name]
		for _, c := range []struct {
			text   string
			offset int
		}{{"abc\xffdef", 3}, {"ok \xed\xa0\x80", 3}, {"\xc0\xaf", 0}, {"Привет\xd0", 12}} {
			_, err := tok.Encode(c.text, true)
			expectStatus(t, err, StatusInvalidArgument)
			if err != nil && !strings.Contains(err.Error(), "byte "+strconv.Itoa(c.offset)) {
				t.Errorf("%s Encode(%q): the message does not give byte %d: %v", family.name, c.text, c.offset, err)
			}
		}
		_, err := tok.TokenToID("\xff")
		if err == nil {
			t.Errorf("%s TokenToID(\"\\xff\") found an id", family.name)
		}
	}
}

func TestTokenizerClosedIsAnError(t *testing.T) {
	r := tokenizerFixture(t)
	tok, err := LoadTokenizer(r.byName["gpt2"].path)
	if err != nil {
		t.Fatal(err)
	}
	tok.Close()
	tok.Close() // a no-op
	_, err = tok.Encode("x", true)
	expectStatus(t, err, StatusInvalidHandle)
	if err != nil && !strings.Contains(err.Error(), "Tokenizer is closed") {
		t.Errorf("message: %v", err)
	}
	_, err = tok.Decode([]int32{1}, false)
	expectStatus(t, err, StatusInvalidHandle)
	_, err = tok.IDToToken(1)
	expectStatus(t, err, StatusInvalidHandle)
	_, err = tok.TokenToID("x")
	expectStatus(t, err, StatusInvalidHandle)
	_, err = tok.Info()
	expectStatus(t, err, StatusInvalidHandle)
}

func TestTokenizerMissingFileIsNotFound(t *testing.T) {
	_, err := LoadTokenizer(t.TempDir() + "/no_such_tokenizer.json")
	expectStatus(t, err, StatusNotFound)
}

// A model whose folder holds tokenizer.json hands out that tokenizer, which outlives the model; the
// test model without one reports StatusNotFound.
func TestTokenizerOfAModel(t *testing.T) {
	r := tokenizerFixture(t)
	model, err := Open(r.modelFolder, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := model.Tokenizer()
	model.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	want := r.text(t, r.modelFamily, mixedText).withSpecial
	if got, err := tok.Encode(mixedText, true); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Encode with the model's tokenizer = %v, %v; want %v", got, err, want)
	}
	_, err = llama.Tokenizer()
	expectStatus(t, err, StatusNotFound)
}

// One tokenizer, eight goroutines at once: every result is the single-goroutine one.
func TestTokenizerSharedByGoroutines(t *testing.T) {
	r := tokenizerFixture(t)
	gpt2 := r.tokenizers["gpt2"]
	want := r.text(t, "gpt2", mixedText).withSpecial
	var wg sync.WaitGroup
	failures := make(chan string, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				ids, err := gpt2.Encode(mixedText, true)
				text, err2 := gpt2.Decode(want, true)
				if err != nil || err2 != nil || !reflect.DeepEqual(ids, want) || text != mixedText {
					failures <- "a concurrent Encode or Decode differed"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(failures)
	for failure := range failures {
		t.Error(failure)
	}
}

// brief is v as %q (strings) or %v, cut to 120 characters: some texts and id lists are long.
func brief(v any) string {
	var s string
	if text, ok := v.(string); ok {
		s = strconv.Quote(text)
	} else {
		s = fmt.Sprint(v)
	}
	if len(s) > 120 {
		s = s[:120] + fmt.Sprintf("... (%d characters)", len(s))
	}
	return s
}

// expectStatus fails unless err is an *Error with status want.
func expectStatus(t *testing.T, err error, want Status) {
	t.Helper()
	var spErr *Error
	if !errors.As(err, &spErr) || spErr.Status != want {
		t.Errorf("error %v; want status %v", err, want)
	}
}
