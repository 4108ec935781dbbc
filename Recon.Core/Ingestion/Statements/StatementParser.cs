using Recon.Core.Domain;
using Recon.Core.Ingestion.Bai2;
using Recon.Core.Ingestion.Camt053;

namespace Recon.Core.Ingestion.Statements;

/// <summary>Parses a bank statement file of either supported format, detecting which when not told.</summary>
public static class StatementParser
{
    /// <summary>Parses <paramref name="text"/>; all statements or a <see cref="StatementFormatException"/>.</summary>
    /// <param name="text">The whole file.</param>
    /// <param name="format"><see cref="StatementFormats.Bai2"/>, <see cref="StatementFormats.Camt053"/>, or null to detect.</param>
    /// <param name="provider">Provider name stamped on the transactions; null means bank A for BAI2 and bank B for camt.053.</param>
    public static BankStatementFile Parse(string text, string? format = null, string? provider = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        return (format ?? DetectFormat(text)) switch
        {
            StatementFormats.Bai2 => Bai2Parser.Parse(text, provider ?? Providers.BankA),
            StatementFormats.Camt053 => Camt053Parser.Parse(text, provider ?? Providers.BankB),
            var other => throw new ArgumentException($"unknown statement format '{other}' (expected {StatementFormats.Bai2} or {StatementFormats.Camt053})", nameof(format)),
        };
    }

    /// <summary>BAI2 starts with a record (its <c>01,</c> file header when well-formed); camt.053 is XML. Anything else is refused, naming line 1.</summary>
    public static string DetectFormat(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var start = text.TrimStart('\uFEFF', ' ', '\t', '\r', '\n');
        // a BAI record code (two digits and a comma) that is not 01 is still BAI: the BAI parser then names the
        // line and the record code that is wrong, which says more than "unknown format"
        if (start.Length >= 3 && char.IsAsciiDigit(start[0]) && char.IsAsciiDigit(start[1]) && start[2] == ',')
        {
            return StatementFormats.Bai2;
        }
        if (start.StartsWith('<'))
        {
            return StatementFormats.Camt053;
        }
        var firstLine = start.Split('\n', 2)[0].TrimEnd('\r');
        throw new StatementFormatException(
            $"cannot tell the format: '{(firstLine.Length > 30 ? firstLine[..30] + "…" : firstLine)}' is neither a BAI2 01 header nor XML",
            text.Length - start.Length > 0 ? text[..(text.Length - start.Length)].Count(c => c == '\n') + 1 : 1,
            field: "format");
    }
}
