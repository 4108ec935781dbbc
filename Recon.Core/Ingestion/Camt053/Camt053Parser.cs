using System.Globalization;
using System.Text.Json;
using System.Xml;
using System.Xml.Linq;
using Recon.Core.Domain;
using Recon.Core.Ingestion.Statements;

namespace Recon.Core.Ingestion.Camt053;

/// <summary>
/// Reads ISO 20022 camt.053 (BankToCustomerStatement), any <c>camt.053.001.NN</c> version: the elements Recon
/// needs kept their names from 02 through 08 (only <c>Sts</c> gained a <c>Cd</c> child in 05+).
/// </summary>
/// <remarks>
/// One transaction per <c>Ntry</c>, signed by its <c>CdtDbtInd</c> (a reversal is booked with the opposite
/// indicator, so the sign is already right). A batch entry is split into one transaction per <c>TxDtls</c> only
/// when every detail carries an amount in the entry currency and they add up to the entry amount; otherwise the
/// entry stays whole, since inventing per-detail amounts would break the match. <c>GroupId</c> is the entry's key
/// either way. End-to-end id <c>NOTPROVIDED</c> is the scheme's "absent" and becomes null.
/// </remarks>
public static class Camt053Parser
{
    public const string NamespacePrefix = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.";

    public static BankStatementFile Parse(string text, string provider = Providers.BankB)
    {
        ArgumentNullException.ThrowIfNull(text);
        var document = Load(text);
        var root = document.Root!;
        var ns = root.Name.Namespace;
        if (root.Name.LocalName != "Document" || !ns.NamespaceName.StartsWith(NamespacePrefix, StringComparison.Ordinal))
        {
            throw new StatementFormatException(
                $"root is {{{ns.NamespaceName}}}{root.Name.LocalName}, not a camt.053 Document ({NamespacePrefix}NN)", Line(root), root.Name.LocalName);
        }
        var message = Required(root, ns + "BkToCstmrStmt", "Document");
        var ids = new ProviderTxIds();
        var statements = new List<BankStatement>();
        var index = 0;
        var warnings = new List<string>();
        foreach (var stmt in message.Elements(ns + "Stmt"))
        {
            index++;
            statements.Add(ReadStatement(stmt, ns, $"Stmt[{index}]", provider, ids, warnings));
        }
        if (index == 0)
        {
            // the schema makes Stmt 1..n: a message without one is not an empty day, it is a broken file
            throw new StatementFormatException("BkToCstmrStmt has no Stmt (the schema requires at least one statement)", Line(message), "Document/BkToCstmrStmt", "Stmt");
        }
        var version = int.TryParse(ns.NamespaceName.AsSpan(NamespacePrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : (int?)null;
        return new BankStatementFile(StatementFormats.Camt053, statements) { Version = version, Warnings = warnings };
    }

    private static XDocument Load(string text)
    {
        // no DTDs and no resolver: a statement file must not make the parser fetch or expand anything
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null };
        try
        {
            using var reader = XmlReader.Create(new StringReader(text), settings);
            return XDocument.Load(reader, LoadOptions.SetLineInfo);
        }
        catch (XmlException ex)
        {
            throw new StatementFormatException($"not well-formed XML: {ex.Message}", ex.LineNumber == 0 ? null : ex.LineNumber, inner: ex);
        }
    }

    private static BankStatement ReadStatement(XElement stmt, XNamespace ns, string path, string provider, ProviderTxIds ids, List<string> warnings)
    {
        var statementId = stmt.Element(ns + "Id")?.Value.Trim();
        var acct = Required(stmt, ns + "Acct", path);
        var acctId = Required(acct, ns + "Id", $"{path}/Acct");
        var account = (acctId.Element(ns + "IBAN")?.Value ?? acctId.Element(ns + "Othr")?.Element(ns + "Id")?.Value)?.Trim();
        if (string.IsNullOrEmpty(account))
        {
            throw new StatementFormatException("account has neither IBAN nor Othr/Id", Line(acctId), $"{path}/Acct/Id");
        }

        var balances = new List<(string Type, long Minor, string Currency, DateOnly? Date)>();
        var b = 0;
        foreach (var bal in stmt.Elements(ns + "Bal"))
        {
            b++;
            var balPath = $"{path}/Bal[{b}]";
            var type = bal.Element(ns + "Tp")?.Element(ns + "CdOrPrtry")?.Element(ns + "Cd")?.Value.Trim()
                ?? bal.Element(ns + "Tp")?.Element(ns + "CdOrPrtry")?.Element(ns + "Prtry")?.Value.Trim()
                ?? throw new StatementFormatException("balance without Tp/CdOrPrtry", Line(bal), balPath);
            var (amount, balanceCurrency) = Amount(Required(bal, ns + "Amt", balPath), $"{balPath}/Amt");
            var sign = Indicator(bal, ns, balPath);
            balances.Add((type, sign * amount, balanceCurrency, DateOf(bal.Element(ns + "Dt"), ns, $"{balPath}/Dt")));
        }
        var opening = balances.FirstOrDefault(x => x.Type == "OPBD");
        if (opening.Type is null)
        {
            // some banks (ABN AMRO) report the opening only as the previous day's closing
            opening = balances.FirstOrDefault(x => x.Type == "PRCD");
        }
        var closing = balances.FirstOrDefault(x => x.Type == "CLBD");

        var entries = stmt.Elements(ns + "Ntry").ToList();
        var firstEntryCurrency = entries.Select(e => e.Element(ns + "Amt")?.Attribute("Ccy")?.Value).FirstOrDefault(c => c is not null);
        var currencyText = acct.Element(ns + "Ccy")?.Value ?? opening.Currency ?? closing.Currency ?? firstEntryCurrency
            ?? throw new StatementFormatException("no currency: no Acct/Ccy, no balance and no entry", Line(stmt), path);
        if (!Currency.IsValidCode(currencyText.Trim()))
        {
            throw new StatementFormatException($"'{currencyText}' is not an ISO 4217 currency code", Line(acct), $"{path}/Acct/Ccy");
        }
        var currency = currencyText.Trim();
        var statementDate = closing.Date
            ?? DateOf(stmt.Element(ns + "CreDtTm"), ns, $"{path}/CreDtTm")
            ?? DateOf(stmt.Element(ns + "FrToDt")?.Element(ns + "ToDtTm"), ns, $"{path}/FrToDt/ToDtTm");

        var transactions = new List<ProviderTransaction>();
        var n = 0;
        foreach (var entry in entries)
        {
            n++;
            transactions.AddRange(ReadEntry(entry, ns, $"{path}/Ntry[{n}]", account, provider, ids));
        }
        // a balance in another currency cannot be compared with the entries, so it is not the statement's opening or
        // closing; it is still a fact the bank sent, so it is kept with its currency and named in a warning
        var foreign = balances.Where(x => x.Currency != currency)
            .Select(x => new StatementBalance(x.Type, x.Minor, x.Currency, x.Date)).ToList();
        foreach (var f in foreign)
        {
            warnings.Add($"{path}: balance {f.Type} is in {f.Currency}, not the account's {currency}; kept in otherCurrencyBalances, not used as the statement's balance");
        }
        return new BankStatement(
            account,
            currency,
            opening.Currency == currency ? opening.Minor : null,
            closing.Currency == currency ? closing.Minor : null,
            statementDate,
            statementId,
            transactions)
        { OtherCurrencyBalances = foreign };
    }

    private static IEnumerable<ProviderTransaction> ReadEntry(XElement entry, XNamespace ns, string path, string account, string provider, ProviderTxIds ids)
    {
        var (amount, currency) = Amount(Required(entry, ns + "Amt", path), $"{path}/Amt");
        var sign = Indicator(entry, ns, path);
        var reversal = string.Equals(entry.Element(ns + "RvslInd")?.Value.Trim(), "true", StringComparison.OrdinalIgnoreCase);
        var stsElement = Required(entry, ns + "Sts", path);
        var sts = (stsElement.Element(ns + "Cd")?.Value ?? stsElement.Value).Trim();
        var status = sts switch
        {
            "BOOK" => ProviderTransactionStatus.Posted,
            // INFO is "for information, not booked": the closest canonical state is pending
            "PDNG" or "INFO" => ProviderTransactionStatus.Pending,
            _ => throw new StatementFormatException($"status '{sts}' is not BOOK, PDNG or INFO", Line(stsElement), $"{path}/Sts"),
        };
        var bookingDate = DateOf(entry.Element(ns + "BookgDt"), ns, $"{path}/BookgDt");
        var valueDate = DateOf(entry.Element(ns + "ValDt"), ns, $"{path}/ValDt") ?? bookingDate
            ?? throw new StatementFormatException("entry has neither ValDt nor BookgDt", Line(entry), path);
        var acctSvcrRef = Text(entry.Element(ns + "AcctSvcrRef"));
        var ntryRef = Text(entry.Element(ns + "NtryRef"));
        var addtlNtryInf = Text(entry.Element(ns + "AddtlNtryInf"));

        var details = new List<Detail>();
        var d = 0;
        foreach (var tx in entry.Elements(ns + "NtryDtls").SelectMany(x => x.Elements(ns + "TxDtls")))
        {
            d++;
            details.Add(ReadDetail(tx, ns, $"{path}/NtryDtls/TxDtls[{d}]"));
        }

        var key = acctSvcrRef is not null ? $"{account}/{acctSvcrRef}"
            : ntryRef is not null ? $"{account}/ntry:{ntryRef}"
            : details is [{ AcctSvcrRef: { } only }] ? $"{account}/{only}"
            : $"{account}/{bookingDate ?? valueDate:yyyyMMdd}/{ids.Next($"{account}/{bookingDate ?? valueDate:yyyyMMdd}")}";
        if (reversal)
        {
            // a reversal may reuse the reference of the entry it reverses; it is a booking of its own
            key += "/rvsl";
        }
        key = ids.Unique(key);
        var raw = JsonSerializer.Serialize(entry.ToString(SaveOptions.DisableFormatting));

        var split = details.Count > 1
            && details.All(x => x.Amount is not null && x.Currency == currency)
            && details.Sum(x => x.Amount!.Value) == amount;
        if (split)
        {
            for (var i = 0; i < details.Count; i++)
            {
                var detail = details[i];
                yield return new ProviderTransaction(provider, $"{key}/{i + 1}", account, sign * detail.Amount!.Value, 0, currency,
                    bookingDate, valueDate, detail.AcctSvcrRef ?? acctSvcrRef, detail.EndToEndId,
                    detail.Remittance ?? addtlNtryInf, key, status, raw);
            }
            yield break;
        }

        var endToEnd = details.Select(x => x.EndToEndId).Where(x => x is not null).Distinct(StringComparer.Ordinal).ToList();
        var remittances = details.Select(x => x.Remittance).Where(x => x is not null).Distinct(StringComparer.Ordinal).ToList();
        yield return new ProviderTransaction(
            provider, key, account, sign * amount, 0, currency, bookingDate, valueDate,
            acctSvcrRef ?? (details.Count == 1 ? details[0].AcctSvcrRef : null),
            endToEnd.Count == 1 ? endToEnd[0] : null,
            remittances.Count > 0 ? string.Join("; ", remittances) : addtlNtryInf,
            key, status, raw);
    }

    private sealed record Detail(long? Amount, string? Currency, string? AcctSvcrRef, string? EndToEndId, string? Remittance);

    private static Detail ReadDetail(XElement tx, XNamespace ns, string path)
    {
        var refs = tx.Element(ns + "Refs");
        var endToEnd = Text(refs?.Element(ns + "EndToEndId"));
        if (endToEnd == "NOTPROVIDED")
        {
            endToEnd = null;
        }
        // 02 puts the booked amount in AmtDtls/TxAmt/Amt; 04+ also has TxDtls/Amt
        var amountElement = tx.Element(ns + "Amt") ?? tx.Element(ns + "AmtDtls")?.Element(ns + "TxAmt")?.Element(ns + "Amt");
        long? amount = null;
        string? currency = null;
        if (amountElement is not null)
        {
            (var a, currency) = Amount(amountElement, $"{path}/{(amountElement.Parent == tx ? "Amt" : "AmtDtls/TxAmt/Amt")}");
            amount = a;
        }

        var parts = new List<string>();
        var rmt = tx.Element(ns + "RmtInf");
        if (rmt is not null)
        {
            var ustrd = rmt.Elements(ns + "Ustrd").Select(Text).Where(x => x is not null).ToList();
            if (ustrd.Count > 0)
            {
                parts.Add(string.Join(" ", ustrd));
            }
            foreach (var strd in rmt.Elements(ns + "Strd"))
            {
                parts.AddRange(strd.Elements(ns + "RfrdDocInf").Select(x => Text(x.Element(ns + "Nb"))).OfType<string>());
                parts.AddRange(strd.Elements(ns + "CdtrRefInf").Select(x => Text(x.Element(ns + "Ref"))).OfType<string>());
                parts.AddRange(strd.Elements(ns + "AddtlRmtInf").Select(Text).OfType<string>());
            }
        }
        if (parts.Count == 0 && Text(tx.Element(ns + "AddtlTxInf")) is { } addtl)
        {
            parts.Add(addtl);
        }
        return new Detail(amount, currency, Text(refs?.Element(ns + "AcctSvcrRef")), endToEnd, parts.Count > 0 ? string.Join(" ", parts) : null);
    }

    private static (long Minor, string Currency) Amount(XElement amt, string path)
    {
        var currency = amt.Attribute("Ccy")?.Value.Trim();
        if (!Currency.IsValidCode(currency))
        {
            throw new StatementFormatException($"amount without a valid Ccy attribute ('{currency}')", Line(amt), path, "Ccy");
        }
        var minor = MinorUnits.TryParseDecimal(amt.Value, currency!, out var error);
        return minor is { } m ? (m, currency!) : throw new StatementFormatException(error!, Line(amt), path);
    }

    private static int Indicator(XElement parent, XNamespace ns, string path)
    {
        var indicator = Required(parent, ns + "CdtDbtInd", path);
        return indicator.Value.Trim() switch
        {
            "CRDT" => 1,
            "DBIT" => -1,
            var other => throw new StatementFormatException($"'{other}' is not CRDT or DBIT", Line(indicator), $"{path}/CdtDbtInd"),
        };
    }

    /// <summary>The date of a <c>Dt</c>/<c>DtTm</c> choice (or a bare date-time element), as written: no time-zone shift.</summary>
    private static DateOnly? DateOf(XElement? element, XNamespace ns, string path)
    {
        if (element is null)
        {
            return null;
        }
        var dateElement = element.Element(ns + "Dt") ?? element.Element(ns + "DtTm") ?? element;
        var text = dateElement.Value.Trim();
        if (text.Length < 10 || !DateOnly.TryParseExact(text[..10], "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            throw new StatementFormatException($"'{text}' is not an ISO date", Line(dateElement), path);
        }
        return date;
    }

    private static XElement Required(XElement parent, XName name, string path)
        => parent.Element(name) ?? throw new StatementFormatException($"missing {name.LocalName}", Line(parent), $"{path}/{name.LocalName}");

    private static string? Text(XElement? element)
        => element is null || string.IsNullOrWhiteSpace(element.Value) ? null : element.Value.Trim();

    private static int? Line(XObject node) => node is IXmlLineInfo info && info.HasLineInfo() ? info.LineNumber : null;
}
