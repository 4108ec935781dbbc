using System.Text.RegularExpressions;
using Recon.Core.Ingestion.Statements;

namespace Recon.Core.Ingestion.Bai2;

/// <summary>One logical BAI2 record with its 88 continuations folded in.</summary>
/// <param name="Code">Two-digit record code (01, 02, 03, 16, 49, 98, 99).</param>
/// <param name="Body">The record after <c>NN,</c>, without its <c>/</c> terminator.</param>
/// <param name="Continuations">Bodies of the 88 records that followed it.</param>
/// <param name="Line">1-based physical line the record starts on.</param>
/// <param name="PhysicalRecords">1 + number of 88 records: what the 49/98/99 record counts count.</param>
/// <param name="Raw">The record text as read (88s included), for audit.</param>
internal sealed record Bai2Record(string Code, string Body, IReadOnlyList<string> Continuations, int Line, int PhysicalRecords, string Raw)
{
    /// <summary>Body and continuations as one comma-separated field list (how 88 continues a 01/02/03/49/98/99).</summary>
    public List<string> Fields()
    {
        var fields = new List<string>(Body.Split(','));
        foreach (var c in Continuations)
        {
            fields.AddRange(c.Split(','));
        }
        return fields;
    }
}

/// <summary>Splits BAI2 text into logical records, tolerating what real files do.</summary>
/// <remarks>
/// Real files put several records on one line (<c>…/   02,…</c>), break a record across a newline without an 88,
/// and leave 16/88 records unterminated (text runs to the end of the line). A line that does not start with a
/// record code continues the previous record only when that record was left open (no <c>/</c>); anywhere else
/// it is an error, which is how truncated or corrupted files are caught.
/// </remarks>
internal static partial class Bai2Records
{
    private static readonly HashSet<string> KnownCodes = ["01", "02", "03", "16", "49", "88", "98", "99"];

    [GeneratedRegex(@"^\d{2},|^\d{2}/?$")]
    private static partial Regex RecordStart();

    // a "/" terminator, blanks, then the next record's code: how one physical line carries several records
    [GeneratedRegex(@"/\s+(?=\d{2},)")]
    private static partial Regex InlineSeparator();

    public static List<Bai2Record> Read(string text)
    {
        var pieces = new List<(string Text, int Line)>();
        var lines = text.Split('\n');
        var open = false;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            var lineNumber = i + 1;
            if (!RecordStart().IsMatch(line))
            {
                if (!open || pieces.Count == 0)
                {
                    throw new StatementFormatException($"'{Shorten(line)}' does not start with a two-digit record code and does not continue an open record", lineNumber, field: "record code");
                }
                var last = pieces[^1];
                line = last.Text + line;
                pieces.RemoveAt(pieces.Count - 1);
                lineNumber = last.Line;
            }
            foreach (var part in InlineSeparator().Split(line))
            {
                pieces.Add((part, lineNumber));
            }
            open = !pieces[^1].Text.TrimEnd().EndsWith('/');
        }

        var records = new List<Bai2Record>();
        foreach (var (raw, line) in pieces)
        {
            var trimmed = raw.TrimEnd();
            var body = trimmed.EndsWith('/') ? trimmed[..^1] : trimmed;
            var code = body[..2];
            if (!KnownCodes.Contains(code))
            {
                throw new StatementFormatException($"unknown record type '{code}' (BAI2 has 01, 02, 03, 16, 49, 88, 98, 99)", line, field: "record code");
            }
            body = body.Length > 2 ? body[3..] : "";
            if (code == "88")
            {
                if (records.Count == 0)
                {
                    throw new StatementFormatException("88 continuation record with no record before it", line, field: "record code");
                }
                var previous = records[^1];
                records[^1] = previous with
                {
                    Continuations = [.. previous.Continuations, body],
                    PhysicalRecords = previous.PhysicalRecords + 1,
                    Raw = previous.Raw + "\n" + trimmed,
                };
                continue;
            }
            records.Add(new Bai2Record(code, body, [], line, 1, trimmed));
        }
        return records;
    }

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
