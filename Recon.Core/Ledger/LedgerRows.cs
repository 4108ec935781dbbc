using System.Globalization;
using System.Text;
using System.Text.Json;
using Recon.Core.Domain;
using Recon.Core.Matching;

namespace Recon.Core.Ledger;

/// <summary>A ledger row that cannot be imported: which source, which line (or array entry), which field, why. Nothing of
/// the source is imported when one row is refused.</summary>
public sealed class LedgerRowException(string source, string where, string? field, string reason)
    : Exception(field is null ? $"{source}: {where}: {reason}" : $"{source}: {where}, field '{field}': {reason}")
{
    /// <summary>The file name, or <c>body</c> / the queue message.</summary>
    public string SourceName { get; } = source;

    /// <summary><c>line N</c> (CSV, NDJSON) or <c>entry N</c> (a JSON array, 1-based).</summary>
    public string Where { get; } = where;

    /// <summary>The column or JSON property, when one field is at fault.</summary>
    public string? Field { get; } = field;

    public string Reason { get; } = reason;

    /// <summary>"where, field 'x': reason" without the source: what an API answer lists.</summary>
    public string Detail => Field is null ? $"{Where}: {Reason}" : $"{Where}, field '{Field}': {Reason}";
}

/// <summary>
/// Reads ledger entries from the three shapes the import accepts — CSV (the <c>recon match</c> ledger columns), a JSON
/// array, NDJSON — into <see cref="LedgerEntry"/> values, whole or not at all (<see cref="LedgerRowException"/>).
/// </summary>
/// <remarks>Money is an integer number of minor units in every shape: a JSON <c>12.5</c> or a CSV <c>12.50</c> is refused,
/// never rounded. An id twice in one source is refused too: which of the two is meant cannot be known.</remarks>
public static class LedgerRows
{
    /// <summary>Longest id, account and reference accepted: long enough for any bank or ERP key, short enough that a
    /// pasted document in a key column is refused rather than indexed.</summary>
    public const int MaxKeyLength = 200;

    /// <summary>Longest counterparty or description: free text, but bounded.</summary>
    public const int MaxTextLength = 2000;

    private static readonly string[] JsonFields = ["id", "account", "amountMinor", "currency", "valueDate", "reference", "externalRef", "counterparty", "description"];

    /// <summary>CSV with the header <c>id,account,amount_minor,currency,value_date,reference,counterparty,description</c>
    /// (+ optional <c>external_ref</c>), RFC 4180 quoting.</summary>
    public static List<LedgerEntry> ReadCsv(TextReader reader, string source) => EnumerateCsv(reader, source).ToList();

    /// <summary><see cref="ReadCsv"/> as a stream: each entry as its line is read, so an import can send it to the
    /// database while the next lines are parsed. A bad row throws <see cref="LedgerRowException"/> when it is reached: the
    /// consumer must treat everything read before it as not imported (the import runs in one transaction).</summary>
    public static IEnumerable<LedgerEntry> EnumerateCsv(TextReader reader, string source)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return Iterate(reader, source);

        static IEnumerable<LedgerEntry> Iterate(TextReader reader, string source)
        {
            var seen = new Dictionary<string, string>(StringComparer.Ordinal);
            using var rows = MatchFiles.Rows(reader, source, MatchFiles.LedgerColumns, ["external_ref"]).GetEnumerator();
            while (true)
            {
                bool more;
                try
                {
                    more = rows.MoveNext();
                }
                catch (MatchFileException ex)
                {
                    // the CSV layer's own refusals (header, quoting, field count) carry the line but no single field
                    var prefix = $"{ex.File}: line {ex.Line.ToString(CultureInfo.InvariantCulture)}: ";
                    var reason = ex.Message.StartsWith(prefix, StringComparison.Ordinal) ? ex.Message[prefix.Length..] : ex.Message;
                    throw new LedgerRowException(source, $"line {ex.Line.ToString(CultureInfo.InvariantCulture)}", null, reason);
                }
                if (!more)
                {
                    yield break;
                }
                var row = rows.Current;
                var where = $"line {row.Line.ToString(CultureInfo.InvariantCulture)}";
                var entry = Build(source, where, name => row.Optional(name), "id", "account", "amount_minor", "currency", "value_date",
                    "reference", "external_ref", "counterparty", "description", amountText: true);
                Remember(seen, entry.Id, source, where);
                yield return entry;
            }
        }
    }

    /// <summary>A JSON array of entries, or NDJSON (one entry per line; blank lines skipped): an array when the first
    /// character that is not white space is <c>[</c>.</summary>
    public static List<LedgerEntry> ReadJson(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.AsSpan().TrimStart();
        if (trimmed.IsEmpty)
        {
            throw new LedgerRowException(source, "line 1", null, "no entries (expected a JSON array or NDJSON, one entry per line)");
        }
        var rows = new List<LedgerEntry>();
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        if (trimmed[0] == '[')
        {
            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(text);
            }
            catch (JsonException ex)
            {
                throw new LedgerRowException(source, $"line {(ex.LineNumber ?? 0) + 1}", null, $"not JSON ({FirstSentence(ex.Message)})");
            }
            using (doc)
            {
                var n = 0;
                foreach (var element in doc.RootElement.EnumerateArray())
                {
                    var where = $"entry {++n}";
                    var entry = FromJson(element, source, where);
                    Remember(seen, entry.Id, source, where);
                    rows.Add(entry);
                }
            }
        }
        else
        {
            var line = 0;
            foreach (var raw in text.Split('\n'))
            {
                line++;
                var l = raw.TrimEnd('\r');
                if (string.IsNullOrWhiteSpace(l))
                {
                    continue;
                }
                var where = $"line {line}";
                JsonDocument doc;
                try
                {
                    doc = JsonDocument.Parse(l);
                }
                catch (JsonException ex)
                {
                    throw new LedgerRowException(source, where, null, $"not a JSON object ({FirstSentence(ex.Message)})");
                }
                using (doc)
                {
                    var entry = FromJson(doc.RootElement, source, where);
                    Remember(seen, entry.Id, source, where);
                    rows.Add(entry);
                }
            }
        }
        if (rows.Count == 0)
        {
            throw new LedgerRowException(source, "line 1", null, "no entries (expected a JSON array or NDJSON, one entry per line)");
        }
        return rows;
    }

    /// <summary>The entries as NDJSON (what the queue and the API accept), for senders and tests.</summary>
    public static string ToNdjson(IEnumerable<LedgerEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var sb = new StringBuilder();
        foreach (var e in entries)
        {
            sb.Append(JsonSerializer.Serialize(new
            {
                id = e.Id, account = e.Account, amountMinor = e.AmountMinor, currency = e.Currency,
                valueDate = e.ValueDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                reference = e.Reference, externalRef = e.ExternalRef, counterparty = e.Counterparty, description = e.Description,
            })).Append('\n');
        }
        return sb.ToString();
    }

    private static LedgerEntry FromJson(JsonElement element, string source, string where)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new LedgerRowException(source, where, null, $"a ledger entry is a JSON object, not {element.ValueKind.ToString().ToLowerInvariant()}");
        }
        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var p in element.EnumerateObject())
        {
            if (!JsonFields.Contains(p.Name, StringComparer.Ordinal))
            {
                throw new LedgerRowException(source, where, p.Name, $"unknown field (expected {string.Join(", ", JsonFields)})");
            }
            values[p.Name] = p.Value.ValueKind switch
            {
                JsonValueKind.Null => null,
                JsonValueKind.String => p.Value.GetString(),
                JsonValueKind.Number when p.Name == "amountMinor" => p.Value.GetRawText(),
                _ => throw new LedgerRowException(source, where, p.Name,
                    p.Name == "amountMinor" ? "not an integer number of minor units" : $"a string is expected, not {p.Value.ValueKind.ToString().ToLowerInvariant()}"),
            };
        }
        return Build(source, where, name => values.GetValueOrDefault(name) is { } v && v.Trim().Length > 0 ? v.Trim() : null,
            "id", "account", "amountMinor", "currency", "valueDate", "reference", "externalRef", "counterparty", "description",
            // a JSON amount must be a number: "1234" as a string is refused, so a quoted decimal cannot slip through
            amountText: false, amountIsNumber: element.TryGetProperty("amountMinor", out var a) && a.ValueKind == JsonValueKind.Number);
    }

    private static LedgerEntry Build(string source, string where, Func<string, string?> get, string id, string account, string amount, string currency,
        string valueDate, string reference, string externalRef, string counterparty, string description, bool amountText, bool amountIsNumber = true)
    {
        string Required(string name) => get(name) ?? throw new LedgerRowException(source, where, name, "missing or empty");
        string? Bounded(string name, int max)
        {
            var v = get(name);
            return v is not null && v.Length > max
                ? throw new LedgerRowException(source, where, name, $"longer than {max} characters")
                : v;
        }
        var idValue = Bounded(id, MaxKeyLength) ?? Required(id);
        var accountValue = Bounded(account, MaxKeyLength) ?? Required(account);
        var amountRaw = Required(amount);
        if (!amountText && !amountIsNumber)
        {
            throw new LedgerRowException(source, where, amount, "not an integer number of minor units (a JSON number is expected)");
        }
        if (!long.TryParse(amountRaw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var amountValue))
        {
            throw new LedgerRowException(source, where, amount, $"'{Clip(amountRaw)}' is not an integer number of minor units");
        }
        var currencyValue = Required(currency);
        if (!Currency.IsValidCode(currencyValue))
        {
            throw new LedgerRowException(source, where, currency, $"'{Clip(currencyValue)}' is not an ISO 4217 code (three upper-case letters)");
        }
        var dateRaw = Required(valueDate);
        if (!DateOnly.TryParseExact(dateRaw, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            throw new LedgerRowException(source, where, valueDate, $"'{Clip(dateRaw)}' is not a date (YYYY-MM-DD)");
        }
        return new LedgerEntry(idValue, accountValue, amountValue, currencyValue, date, Bounded(reference, MaxKeyLength), Bounded(externalRef, MaxKeyLength),
            Bounded(counterparty, MaxTextLength), Bounded(description, MaxTextLength));
    }

    private static void Remember(Dictionary<string, string> seen, string id, string source, string where)
    {
        if (!seen.TryAdd(id, where))
        {
            throw new LedgerRowException(source, where, "id", $"'{Clip(id)}' appears twice (first at {seen[id]}): one source holds one version of an entry");
        }
    }

    private static string Clip(string v) => v.Length <= 40 ? v : v[..40] + "…";

    private static string FirstSentence(string message)
    {
        var i = message.IndexOf(". ", StringComparison.Ordinal);
        return i < 0 ? message.TrimEnd('.') : message[..i];
    }
}
