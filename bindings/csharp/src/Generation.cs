using System;
using System.Text;

namespace SoftPrompt
{
    /// <summary>Why a row of a generation stopped (sp_stop_reason; same numeric values).</summary>
    public enum StopReason
    {
        /// <summary>The row goes on (the event is not its last token).</summary>
        None = 0,
        /// <summary>MaxNewTokens were generated.</summary>
        MaxTokens = 1,
        /// <summary>An end-of-sequence id (the model's or one of StopIds); it is the row's last token.</summary>
        Eos = 2,
        /// <summary>The row's text came to contain a stop string; the token completing it is the row's last.</summary>
        StopString = 3,
        /// <summary>The callback returned false, the enumeration ended early, or cancellation.</summary>
        Callback = 4,
    }

    /// <summary>One generated token, as streamed.</summary>
    public sealed class TokenEvent
    {
        internal TokenEvent(int row, int tokenId, string text, StopReason stopReason)
        {
            Row = row;
            TokenId = tokenId;
            Text = text;
            StopReason = stopReason;
        }

        /// <summary>The prompt's index in the call's prompts.</summary>
        public int Row { get; private set; }

        /// <summary>The id generated.</summary>
        public int TokenId { get; private set; }

        /// <summary>
        /// The text this token completes: the row's decoded text grows by exactly this. Never part of
        /// a character (the library holds bytes back until they form whole characters), so often
        /// empty; empty too when the model folder has no tokenizer.
        /// </summary>
        public string Text { get; private set; }

        /// <summary>None while the row goes on; otherwise this is the row's last token.</summary>
        public StopReason StopReason { get; private set; }

        /// <summary>Whether this is the row's last token.</summary>
        public bool IsLast
        {
            get { return StopReason != StopReason.None; }
        }

        public override string ToString()
        {
            return string.Format("TokenEvent(row {0}, id {1}, \"{2}\", {3})", Row, TokenId, Text, StopReason);
        }
    }

    /// <summary>What a generation produced, per row (prompt): its tokens, why it stopped and its text.</summary>
    public sealed class Generation
    {
        private readonly int[][] ids;
        private readonly StopReason[] stopReasons;
        private readonly string[] texts;

        internal Generation(int[][] ids, StopReason[] stopReasons, string[] texts)
        {
            this.ids = ids;
            this.stopReasons = stopReasons;
            this.texts = texts;
        }

        /// <summary>The number of rows (the call's prompts).</summary>
        public int Rows
        {
            get { return ids.Length; }
        }

        /// <summary>The row's generated ids (the prompt left out; a stopping end-of-sequence id included), a copy.</summary>
        public int[] GetIds(int row)
        {
            return (int[])ids[row].Clone();
        }

        /// <summary>Why the row stopped.</summary>
        public StopReason GetStopReason(int row)
        {
            return stopReasons[row];
        }

        /// <summary>The row's text: its events' texts joined (empty when the model folder has no tokenizer).</summary>
        public string GetText(int row)
        {
            return texts[row];
        }
    }

    /// <summary>One generation's rows as its events come (what Generate returns, built up).</summary>
    internal sealed class GenerationRows
    {
        private readonly int[][] ids;
        private readonly int[] counts;
        private readonly StopReason[] stopReasons;
        private readonly StringBuilder[] texts;

        internal GenerationRows(int rows)
        {
            ids = new int[rows][];
            counts = new int[rows];
            stopReasons = new StopReason[rows];
            texts = new StringBuilder[rows];
            for (int row = 0; row < rows; ++row)
            {
                ids[row] = new int[8];
                texts[row] = new StringBuilder();
            }
        }

        internal void Record(TokenEvent e)
        {
            int row = e.Row;
            if (counts[row] == ids[row].Length)
                Array.Resize(ref ids[row], ids[row].Length * 2);
            ids[row][counts[row]++] = e.TokenId;
            texts[row].Append(e.Text);
            stopReasons[row] = e.StopReason;
        }

        /// <summary>The rows still running end with Callback (the generation was stopped).</summary>
        internal void Stopped()
        {
            for (int row = 0; row < stopReasons.Length; ++row)
                if (stopReasons[row] == StopReason.None)
                    stopReasons[row] = StopReason.Callback;
        }

        internal Generation ToGeneration()
        {
            var rowIds = new int[ids.Length][];
            var rowTexts = new string[ids.Length];
            for (int row = 0; row < ids.Length; ++row)
            {
                rowIds[row] = new int[counts[row]];
                Array.Copy(ids[row], rowIds[row], counts[row]);
                rowTexts[row] = texts[row].ToString();
            }
            return new Generation(rowIds, (StopReason[])stopReasons.Clone(), rowTexts);
        }
    }
}
