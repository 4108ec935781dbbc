using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Recon.Core.Ingestion.Statements;

namespace Recon.Cli;

/// <summary><c>recon parse FILE [--format bai2|camt053]</c>: prints the parsed statements as JSON, or the error and where.</summary>
internal static class ParseCommand
{
    public static Task<int> RunAsync(string[] args, IConfiguration configuration)
    {
        string? file = null;
        string? format = null;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--format")
            {
                format = i + 1 < args.Length ? args[++i] : throw new UsageException("--format needs a value: bai2 or camt053");
                if (format is not (StatementFormats.Bai2 or StatementFormats.Camt053))
                {
                    throw new UsageException($"unknown format '{format}': use bai2 or camt053");
                }
            }
            else if (file is null && !args[i].StartsWith("--", StringComparison.Ordinal))
            {
                file = args[i];
            }
            else
            {
                throw new UsageException($"unexpected argument '{args[i]}'. usage: recon parse FILE [--format bai2|camt053]");
            }
        }
        if (file is null)
        {
            throw new UsageException("usage: recon parse FILE [--format bai2|camt053]");
        }
        if (!File.Exists(file))
        {
            throw new UsageException($"{file}: no such file");
        }

        BankStatementFile parsed;
        try
        {
            parsed = StatementParser.Parse(File.ReadAllText(file), format);
        }
        catch (StatementFormatException ex)
        {
            Console.Error.WriteLine($"recon parse: {file}: {ex.Message}");
            return Task.FromResult(1);
        }

        foreach (var warning in parsed.Warnings)
        {
            Console.Error.WriteLine($"recon parse: {file}: warning: {warning}");
        }
        using var stdout = Console.OpenStandardOutput();
        using (var json = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
        {
            Write(json, parsed);
        }
        Console.Out.WriteLine();
        return Task.FromResult(0);
    }

    private static void Write(Utf8JsonWriter json, BankStatementFile file)
    {
        json.WriteStartObject();
        json.WriteString("format", file.Format);
        WriteNumber(json, "version", file.Version);
        json.WriteStartArray("warnings");
        foreach (var w in file.Warnings)
        {
            json.WriteStringValue(w);
        }
        json.WriteEndArray();
        json.WriteStartArray("statements");
        foreach (var s in file.Statements)
        {
            json.WriteStartObject();
            json.WriteString("account", s.Account);
            json.WriteString("currency", s.Currency);
            WriteNumber(json, "openingMinor", s.OpeningMinor);
            WriteNumber(json, "closingMinor", s.ClosingMinor);
            json.WriteString("statementDate", s.StatementDate?.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
            json.WriteString("statementId", s.StatementId);
            json.WriteStartArray("otherCurrencyBalances");
            foreach (var b in s.OtherCurrencyBalances)
            {
                json.WriteStartObject();
                json.WriteString("type", b.Type);
                json.WriteNumber("amountMinor", b.AmountMinor);
                json.WriteString("currency", b.Currency);
                json.WriteString("date", b.Date?.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteStartArray("transactions");
            foreach (var t in s.Transactions)
            {
                json.WriteStartObject();
                json.WriteString("providerTxId", t.ProviderTxId);
                json.WriteNumber("amountMinor", t.AmountMinor);
                json.WriteString("currency", t.Currency);
                json.WriteString("valueDate", t.ValueDate.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
                json.WriteString("bookingDate", t.BookingDate?.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
                json.WriteString("bankReference", t.BankReference);
                json.WriteString("endToEndId", t.EndToEndId);
                json.WriteString("remittance", t.Remittance);
                json.WriteString("groupId", t.GroupId);
                json.WriteString("status", t.Status.ToString().ToLowerInvariant());
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteNumber(Utf8JsonWriter json, string name, long? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
