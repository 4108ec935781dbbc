using System.Globalization;
using System.Text;
using Recon.Core.Domain;

namespace Recon.Core.Matching;

/// <summary>A malformed input file for <c>recon match</c>: which file, which line, what.</summary>
public sealed class MatchFileException(string file, int line, string message)
    : Exception($"{file}: line {line}: {message}")
{
    public string File { get; } = file;

    public int Line { get; } = line;
}

/// <summary>
/// The CSV files of <c>recon match</c> (RFC 4180: fields may be quoted, with commas, doubled quotes and line breaks
/// inside). Readers return every row or throw <see cref="MatchFileException"/> naming the line: never part of a file.
/// </summary>
public static class MatchFiles
{
    /// <summary>Ledger columns; <c>external_ref</c> may be added as an optional ninth column.</summary>
    public static readonly string[] LedgerColumns = ["id", "account", "amount_minor", "currency", "value_date", "reference", "counterparty", "description"];

    /// <summary>Provider transaction columns.</summary>
    public static readonly string[] TransactionColumns = ["provider", "provider_tx_id", "account", "amount_minor", "fee_minor", "currency", "value_date", "reference", "end_to_end_id", "group_id", "description"];

    /// <summary>Result columns.</summary>
    public static readonly string[] ResultColumns = ["provider", "provider_tx_id", "ledger_ids", "outcome", "score", "difference_minor", "rule",
        "reason", "score_key", "score_amount", "score_date", "score_counterparty", "score_uniqueness", "score_group"];

    /// <summary>Truth columns (for precision and recall); <c>kind</c> may be added as an optional fourth column.</summary>
    public static readonly string[] TruthColumns = ["provider", "provider_tx_id", "ledger_ids"];

    public static List<LedgerEntry> ReadLedger(TextReader reader, string file)
    {
        var rows = new List<LedgerEntry>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var row in Rows(reader, file, LedgerColumns, ["external_ref"]))
        {
            var id = row.Required("id");
            if (!ids.Add(id))
            {
                throw row.Error($"ledger id '{id}' appears twice");
            }
            rows.Add(new LedgerEntry(id, row.Required("account"), row.Long("amount_minor"), row.Currency("currency"), row.Date("value_date"),
                row.Optional("reference"), row.Optional("external_ref"), row.Optional("counterparty"), row.Optional("description")));
        }
        return rows;
    }

    public static List<ProviderTransaction> ReadTransactions(TextReader reader, string file)
    {
        var rows = new List<ProviderTransaction>();
        foreach (var row in Rows(reader, file, TransactionColumns, []))
        {
            var provider = row.Required("provider");
            if (!Providers.IsKnown(provider))
            {
                throw row.Error($"column 'provider': '{provider}' is not one of {string.Join(", ", Providers.All)}");
            }
            var fee = row.Long("fee_minor", optional: true);
            if (fee < 0)
            {
                throw row.Error($"column 'fee_minor': {fee} is negative (a fee is the amount the provider kept)");
            }
            var date = row.Date("value_date");
            rows.Add(new ProviderTransaction(provider, row.Required("provider_tx_id"), row.Required("account"), row.Long("amount_minor"), fee,
                row.Currency("currency"), date, date, row.Optional("reference"), row.Optional("end_to_end_id"), row.Optional("description"),
                row.Optional("group_id")));
        }
        return rows;
    }

    public static List<MatchTruth> ReadTruth(TextReader reader, string file)
    {
        var rows = new List<MatchTruth>();
        foreach (var row in Rows(reader, file, TruthColumns, ["kind"]))
        {
            var ids = row.Optional("ledger_ids");
            rows.Add(new MatchTruth(row.Required("provider"), row.Required("provider_tx_id"),
                string.IsNullOrEmpty(ids) ? [] : ids.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
                row.Optional("kind") ?? ""));
        }
        return rows;
    }

    public static void WriteResults(TextWriter writer, IEnumerable<MatchResult> results)
    {
        writer.Write(string.Join(',', ResultColumns));
        writer.Write('\n');
        foreach (var r in results)
        {
            var e = r.Evidence;
            WriteRow(writer, r.Provider, r.ProviderTxId, string.Join(';', r.LedgerIds), OutcomeName(r.Outcome),
                r.Score.ToString(CultureInfo.InvariantCulture), r.DifferenceMinor.ToString(CultureInfo.InvariantCulture), r.Rule, r.Reason,
                Num(e.Key), Num(e.Amount), Num(e.Date), Num(e.Counterparty), Num(e.Uniqueness), Num(e.Group));
        }
    }

    public static void WriteLedger(TextWriter writer, IEnumerable<LedgerEntry> ledger)
    {
        writer.Write(string.Join(',', LedgerColumns) + ",external_ref\n");
        foreach (var l in ledger)
        {
            WriteRow(writer, l.Id, l.Account, l.AmountMinor.ToString(CultureInfo.InvariantCulture), l.Currency, Iso(l.ValueDate),
                l.Reference, l.Counterparty, l.Description, l.ExternalRef);
        }
    }

    public static void WriteTransactions(TextWriter writer, IEnumerable<ProviderTransaction> transactions)
    {
        writer.Write(string.Join(',', TransactionColumns) + "\n");
        foreach (var t in transactions)
        {
            WriteRow(writer, t.Provider, t.ProviderTxId, t.Account, t.AmountMinor.ToString(CultureInfo.InvariantCulture),
                t.FeeMinor.ToString(CultureInfo.InvariantCulture), t.Currency, Iso(t.ValueDate), t.BankReference, t.EndToEndId, t.GroupId, t.Remittance);
        }
    }

    public static void WriteTruth(TextWriter writer, IEnumerable<MatchTruth> truth)
    {
        writer.Write(string.Join(',', TruthColumns) + ",kind\n");
        foreach (var t in truth)
        {
            WriteRow(writer, t.Provider, t.ProviderTxId, string.Join(';', t.LedgerIds), t.Kind);
        }
    }

    /// <summary>The lower-case name written to files and the database (<c>matched</c>, <c>proposed</c>, ...).</summary>
    public static string OutcomeName(MatchOutcome outcome) => outcome switch
    {
        MatchOutcome.Matched => "matched",
        MatchOutcome.Proposed => "proposed",
        MatchOutcome.Ambiguous => "ambiguous",
        MatchOutcome.Unmatched => "unmatched",
        MatchOutcome.Duplicate => "duplicate",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, null),
    };

    private static string Num(int n) => n.ToString(CultureInfo.InvariantCulture);

    private static string Iso(DateOnly d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static void WriteRow(TextWriter writer, params string?[] fields)
    {
        for (var i = 0; i < fields.Length; i++)
        {
            if (i > 0)
            {
                writer.Write(',');
            }
            var f = fields[i] ?? "";
            if (f.AsSpan().IndexOfAny(",\"\r\n") >= 0)
            {
                writer.Write('"');
                writer.Write(f.Replace("\"", "\"\"", StringComparison.Ordinal));
                writer.Write('"');
            }
            else
            {
                writer.Write(f);
            }
        }
        writer.Write('\n');
    }

    /// <summary>One data row with its line number, its fields looked up by header name.</summary>
    public sealed class Row(string file, int line, Dictionary<string, int> columns, List<string> fields)
    {
        public int Line { get; } = line;

        public MatchFileException Error(string message) => new(file, Line, message);

        public string? Optional(string name)
        {
            if (!columns.TryGetValue(name, out var i) || i >= fields.Count)
            {
                return null;
            }
            var v = fields[i].Trim();
            return v.Length == 0 ? null : v;
        }

        public string Required(string name) => Optional(name) ?? throw Error($"column '{name}' is empty");

        public long Long(string name, bool optional = false)
        {
            var v = Optional(name);
            if (v is null)
            {
                return optional ? 0 : throw Error($"column '{name}' is empty");
            }
            return long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
                ? n
                : throw Error($"column '{name}': '{v}' is not an integer number of minor units");
        }

        public DateOnly Date(string name)
        {
            var v = Required(name);
            return DateOnly.TryParseExact(v, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d)
                ? d
                : throw Error($"column '{name}': '{v}' is not a date (YYYY-MM-DD)");
        }

        public string Currency(string name)
        {
            var v = Required(name);
            return Domain.Currency.IsValidCode(v) ? v : throw Error($"column '{name}': '{v}' is not an ISO 4217 code (three upper-case letters)");
        }
    }

    /// <summary>Reads the header (which must name every required column) and yields the data rows.</summary>
    public static IEnumerable<Row> Rows(TextReader reader, string file, IReadOnlyList<string> required, IReadOnlyList<string> optional)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var parser = new CsvParser(reader, file);
        if (!parser.Next(out var header, out var headerLine))
        {
            throw new MatchFileException(file, 1, $"empty file: expected the header {string.Join(',', required)}");
        }
        var columns = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < header.Count; i++)
        {
            var name = header[i].Trim().TrimStart('\uFEFF');
            if (!columns.TryAdd(name, i))
            {
                throw new MatchFileException(file, headerLine, $"column '{name}' appears twice in the header");
            }
            if (!required.Contains(name) && !optional.Contains(name))
            {
                throw new MatchFileException(file, headerLine, $"unknown column '{name}' (expected {string.Join(',', required)})");
            }
        }
        foreach (var r in required)
        {
            if (!columns.ContainsKey(r))
            {
                throw new MatchFileException(file, headerLine, $"the header lacks column '{r}' (expected {string.Join(',', required)})");
            }
        }
        while (parser.Next(out var fields, out var line))
        {
            if (fields.Count == 1 && fields[0].Length == 0)
            {
                continue; // blank line
            }
            if (fields.Count != header.Count)
            {
                throw new MatchFileException(file, line, $"{fields.Count} fields where the header has {header.Count}");
            }
            yield return new Row(file, line, columns, fields);
        }
    }

    private sealed class CsvParser(TextReader reader, string file)
    {
        private int _line = 1;
        private readonly StringBuilder _field = new();

        /// <summary>Next record (RFC 4180); <paramref name="startLine"/> is the line it starts on.</summary>
        public bool Next(out List<string> fields, out int startLine)
        {
            fields = [];
            startLine = _line;
            var c = reader.Read();
            if (c < 0)
            {
                return false;
            }
            _field.Clear();
            var quoted = false;
            var wasQuoted = false;
            while (true)
            {
                if (quoted)
                {
                    if (c < 0)
                    {
                        throw new MatchFileException(file, startLine, "a quoted field is never closed");
                    }
                    if (c == '"')
                    {
                        if (reader.Peek() == '"')
                        {
                            reader.Read();
                            _field.Append('"');
                        }
                        else
                        {
                            quoted = false;
                        }
                    }
                    else
                    {
                        if (c == '\n')
                        {
                            _line++;
                        }
                        _field.Append((char)c);
                    }
                }
                else if (c == '"')
                {
                    if (_field.Length > 0 || wasQuoted)
                    {
                        throw new MatchFileException(file, _line, "a quote inside an unquoted field (quote the whole field and write each quote twice)");
                    }
                    quoted = true;
                    wasQuoted = true;
                }
                else if (c == ',')
                {
                    fields.Add(_field.ToString());
                    _field.Clear();
                    wasQuoted = false;
                }
                else if (c is '\n' or -1 or '\r')
                {
                    if (c == '\r' && reader.Peek() == '\n')
                    {
                        reader.Read();
                    }
                    fields.Add(_field.ToString());
                    if (c != -1)
                    {
                        _line++;
                    }
                    return true;
                }
                else
                {
                    if (wasQuoted)
                    {
                        throw new MatchFileException(file, _line, "text after a closing quote");
                    }
                    _field.Append((char)c);
                }
                c = reader.Read();
            }
        }
    }
}
