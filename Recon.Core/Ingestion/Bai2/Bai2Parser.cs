using System.Globalization;
using System.Text.Json;
using Recon.Core.Domain;
using Recon.Core.Ingestion.Statements;

namespace Recon.Core.Ingestion.Bai2;

/// <summary>How strictly <see cref="Bai2Parser"/> checks a file.</summary>
/// <param name="VerifyControlTotals">
/// Check the 49/98/99 control totals and record counts (default). Turn off only to inspect a file a bank is known
/// to total wrongly (the Goldman Sachs style sample in the corpus): ingestion keeps it on.
/// </param>
public sealed record Bai2ParseOptions(bool VerifyControlTotals = true)
{
    public static Bai2ParseOptions Strict { get; } = new();
}

/// <summary>
/// Reads BAI2 (Cash Management Balance Reporting Specifications, version 2): 01 file header, 02 group, 03 account
/// with status and summary amounts, 16 details, 88 continuations, 49/98/99 trailers with control totals.
/// </summary>
/// <remarks>
/// Amounts are implied-decimal integers already in the currency's minor units. Detail direction comes from the
/// type code range (100–399 credit, 400–699 debit); 890 carries no money and yields no transaction. Value date is
/// the funds-type V date, else the group's as-of date. The whole file is validated before anything is returned.
/// </remarks>
public static class Bai2Parser
{
    /// <summary>Currency the BAI2 spec assumes when neither the 03 nor the 02 record names one.</summary>
    public const string DefaultCurrency = "USD";

    public static BankStatementFile Parse(string text, string provider = Providers.BankA)
        => Parse(text, provider, Bai2ParseOptions.Strict);

    public static BankStatementFile Parse(string text, string provider, Bai2ParseOptions options)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(options);
        var records = Bai2Records.Read(text);
        if (records.Count == 0)
        {
            throw new StatementFormatException("empty file: no BAI2 records", 1);
        }
        return new Parser(records, provider, options).Run();
    }

    private sealed class Parser(List<Bai2Record> records, string provider, Bai2ParseOptions options)
    {
        private readonly ProviderTxIds _ids = new();
        private int _next;

        public BankStatementFile Run()
        {
            var header = Expect("01", "file header");
            var hf = new FieldReader(header);
            hf.Skip(4); // sender, receiver, creation date, creation time: not needed to read the statements
            var fileId = hf.Next("file identification number");
            hf.Skip(2); // physical record length, block size
            var version = hf.Next("version number");
            // BTRS (ANSI X9.121, "BAI version 3") keeps BAI2's record layout, delimiters, continuations and trailers;
            // what it changes (more type codes, text rules) does not change how a statement is read, so one reader serves both
            if (version is not ("2" or "3"))
            {
                throw new StatementFormatException($"version '{version}' is not supported; only BAI version 2 and BTRS version 3", header.Line, field: "version number");
            }

            var statements = new List<BankStatement>();
            long fileTotal = 0;
            var groups = 0;
            long fileRecords = header.PhysicalRecords;
            while (Peek()?.Code == "02")
            {
                var (groupTotal, groupRecords) = ReadGroup(fileId, groups, statements);
                fileTotal += groupTotal;
                fileRecords += groupRecords;
                groups++;
            }
            var trailer = Expect("99", "file trailer");
            fileRecords += trailer.PhysicalRecords;
            var tf = new FieldReader(trailer);
            Verify(trailer, "file control total", tf.Amount("file control total"), fileTotal);
            Verify(trailer, "number of groups", tf.Count("number of groups"), groups);
            Verify(trailer, "number of records", tf.Count("number of records"), fileRecords);
            if (_next < records.Count)
            {
                throw new StatementFormatException($"record {records[_next].Code} after the 99 file trailer", records[_next].Line, field: "record code");
            }
            return new BankStatementFile(StatementFormats.Bai2, statements) { Version = version == "3" ? 3 : 2 };
        }

        private (long Total, long Records) ReadGroup(string fileId, int groupIndex, List<BankStatement> statements)
        {
            var group = Expect("02", "group header");
            var gf = new FieldReader(group);
            gf.Skip(2); // ultimate receiver, originator
            var status = gf.Next("group status");
            if (status is not ("1" or "2" or "3" or "4"))
            {
                throw new StatementFormatException($"group status '{status}' is not 1 (update), 2 (deletion), 3 (correction) or 4 (test only)", group.Line, field: "group status");
            }
            var asOf = Date(group, gf.Next("as-of date"), "as-of date");
            gf.Skip(1); // as-of time
            var groupCurrency = gf.Next("currency code");

            long total = 0;
            var accounts = 0;
            long groupRecords = group.PhysicalRecords;
            while (Peek()?.Code == "03")
            {
                var (statement, accountTotal, accountRecords) = ReadAccount(group, status, asOf, groupCurrency, $"{fileId}/{groupIndex + 1}/{accounts + 1}");
                statements.Add(statement);
                total += accountTotal;
                groupRecords += accountRecords;
                accounts++;
            }
            var trailer = Expect("98", "group trailer");
            groupRecords += trailer.PhysicalRecords;
            var tf = new FieldReader(trailer);
            Verify(trailer, "group control total", tf.Amount("group control total"), total);
            Verify(trailer, "number of accounts", tf.Count("number of accounts"), accounts);
            Verify(trailer, "number of records", tf.Count("number of records"), groupRecords);
            return (total, groupRecords);
        }

        private (BankStatement Statement, long Total, long Records) ReadAccount(Bai2Record group, string groupStatus, DateOnly asOf, string groupCurrency, string statementId)
        {
            var account = Expect("03", "account identifier");
            var af = new FieldReader(account);
            var number = af.Next("customer account number");
            if (number.Length == 0)
            {
                throw new StatementFormatException("empty customer account number", account.Line, field: "customer account number");
            }
            var currencyText = af.Next("currency code");
            var currency = currencyText.Length > 0 ? currencyText : groupCurrency.Length > 0 ? groupCurrency : DefaultCurrency;
            if (!Currency.IsValidCode(currency))
            {
                throw new StatementFormatException($"'{currency}' is not an ISO 4217 currency code", account.Line, field: "currency code");
            }

            long total = 0;
            long? opening = null;
            long? closing = null;
            while (af.NextTypeCode(out var typeCode))
            {
                var amountText = af.Next("amount");
                var amount = amountText.Length == 0 ? 0 : af.ParseAmount(amountText, $"amount of {typeCode}", signed: true);
                af.Next("item count");
                af.FundsType(asOf);
                total += amount;
                if (amountText.Length == 0)
                {
                    continue;
                }
                if (typeCode == "010" && opening is null)
                {
                    opening = amount;
                }
                else if (typeCode == "015" && closing is null)
                {
                    closing = amount;
                }
            }

            long accountRecords = account.PhysicalRecords;
            var transactions = new List<ProviderTransaction>();
            while (Peek()?.Code == "16")
            {
                var detail = records[_next++];
                accountRecords += detail.PhysicalRecords;
                var (tx, amount) = ReadDetail(detail, number, currency, asOf, groupStatus);
                total += amount;
                if (tx is not null)
                {
                    transactions.Add(tx);
                }
            }
            var trailer = Peek()?.Code == "49"
                ? records[_next++]
                : throw Missing(Peek(), $"49 account trailer for account {number} (line {account.Line})");
            accountRecords += trailer.PhysicalRecords;
            var tf = new FieldReader(trailer);
            Verify(trailer, "account control total", tf.Amount("account control total"), total);
            Verify(trailer, "number of records", tf.Count("number of records"), accountRecords);
            return (new BankStatement(number, currency, opening, closing, asOf, statementId, transactions), total, accountRecords);
        }

        private (ProviderTransaction? Tx, long Amount) ReadDetail(Bai2Record detail, string account, string currency, DateOnly asOf, string groupStatus)
        {
            var f = new FieldReader(detail, detail: true);
            var typeCode = f.Next("type code");
            if (typeCode.Length != 3 || !typeCode.All(char.IsAsciiDigit))
            {
                throw new StatementFormatException($"'{typeCode}' is not a three-digit type code", detail.Line, field: "type code");
            }
            var amountText = f.Next("amount");
            if (amountText.Length == 0)
            {
                throw new StatementFormatException("16 detail without an amount", detail.Line, field: "amount");
            }
            var amount = f.ParseAmount(amountText, "amount", signed: false);
            var valueDate = f.FundsType(asOf) ?? asOf;
            var bankRef = f.Next("bank reference number").Trim();
            var customerRef = f.Next("customer reference number").Trim();
            var text = f.Rest();
            var texts = new List<string>();
            if (text.Trim().Length > 0)
            {
                texts.Add(text.Trim());
            }
            texts.AddRange(detail.Continuations.Select(c => c.Trim()).Where(c => c.Length > 0));

            var code = int.Parse(typeCode, CultureInfo.InvariantCulture);
            int sign;
            if (code is >= 100 and <= 399)
            {
                sign = 1;
            }
            else if (code is >= 400 and <= 699)
            {
                sign = -1;
            }
            else if (code == 890)
            {
                return (null, amount); // non-monetary information: counted in the control total, no money moved
            }
            else
            {
                throw new StatementFormatException($"type code {typeCode} has no credit/debit direction in BAI2 (credits are 100-399, debits 400-699, 890 is information)", detail.Line, field: "type code");
            }

            var key = bankRef.Length > 0
                ? $"{account}/{bankRef}"
                : $"{account}/{asOf:yyyyMMdd}/{_ids.Next($"{account}/{asOf:yyyyMMdd}")}";
            var tx = new ProviderTransaction(
                Provider: provider,
                ProviderTxId: _ids.Unique(key),
                Account: account,
                AmountMinor: sign * amount,
                FeeMinor: 0,
                Currency: currency,
                BookingDate: asOf,
                ValueDate: valueDate,
                BankReference: bankRef.Length > 0 ? bankRef : null,
                EndToEndId: customerRef.Length > 0 ? customerRef : null,
                Remittance: texts.Count > 0 ? string.Join(" ", texts) : null,
                GroupId: null,
                // a deletion group withdraws what an earlier file reported
                Status: groupStatus == "2" ? ProviderTransactionStatus.Removed : ProviderTransactionStatus.Posted,
                RawJson: JsonSerializer.Serialize(detail.Raw));
            return (tx, amount);
        }

        private void Verify(Bai2Record record, string field, long stated, long computed)
        {
            if (options.VerifyControlTotals && stated != computed)
            {
                throw new StatementFormatException($"{record.Code} {field} is {stated} but the records it covers add up to {computed}", record.Line, field: field);
            }
        }

        private Bai2Record? Peek() => _next < records.Count ? records[_next] : null;

        private Bai2Record Expect(string code, string what)
        {
            var record = Peek();
            if (record?.Code != code)
            {
                throw Missing(record, $"{code} {what}");
            }
            _next++;
            return record;
        }

        private StatementFormatException Missing(Bai2Record? found, string expected)
            => found is null
                ? new StatementFormatException($"file ends early: expected {expected} (truncated file?)", records[^1].Line, field: "record code")
                : new StatementFormatException($"expected {expected}, found record {found.Code}", found.Line, field: "record code");

        private static DateOnly Date(Bai2Record record, string text, string field)
            => FieldReader.ParseDate(text, record.Line, field)
               ?? throw new StatementFormatException("date is required", record.Line, field: field);
    }

    /// <summary>Reads the comma fields of one logical record; for a 16 the text field is the rest of the record.</summary>
    private sealed class FieldReader
    {
        private readonly Bai2Record _record;
        private readonly List<string> _fields;
        private readonly string _body;
        private int _index;
        private int _offset;
        private readonly bool _detail;

        public FieldReader(Bai2Record record, bool detail = false)
        {
            _record = record;
            _detail = detail;
            // a 16's text can hold commas, so 16s are read by offset in the body; 88s continue it as text
            _body = record.Body;
            _fields = detail ? [] : record.Fields();
        }

        public string Next(string field)
        {
            if (_detail)
            {
                if (_offset > _body.Length)
                {
                    return "";
                }
                var comma = _body.IndexOf(',', _offset);
                var value = comma < 0 ? _body[_offset..] : _body[_offset..comma];
                _offset = comma < 0 ? _body.Length + 1 : comma + 1;
                return value;
            }
            return _index < _fields.Count ? _fields[_index++].Trim() : "";
        }

        public string Rest() => _offset > _body.Length ? "" : _body[_offset..];

        public void Skip(int count)
        {
            for (var i = 0; i < count; i++)
            {
                Next("skipped");
            }
        }

        /// <summary>Next summary type code; blank slots (some banks leave <c>,,,</c> before or after a summary) are skipped.</summary>
        public bool NextTypeCode(out string typeCode)
        {
            while (_index < _fields.Count)
            {
                typeCode = _fields[_index++].Trim();
                if (typeCode.Length == 0)
                {
                    continue;
                }
                if (typeCode.Length != 3 || !typeCode.All(char.IsAsciiDigit))
                {
                    throw new StatementFormatException($"'{typeCode}' is not a three-digit type code", _record.Line, field: "type code");
                }
                return true;
            }
            typeCode = "";
            return false;
        }

        /// <summary>Reads a funds type and the fields it brings; returns the value date of funds type V.</summary>
        public DateOnly? FundsType(DateOnly asOf)
        {
            var fundsType = Next("funds type").Trim();
            switch (fundsType)
            {
                case "" or "0" or "1" or "2" or "Z":
                    return null;
                case "V":
                    var date = ParseDate(Next("value date"), _record.Line, "value date");
                    Next("value time");
                    return date ?? asOf;
                case "S":
                    for (var i = 0; i < 3; i++)
                    {
                        var availability = Next("availability amount");
                        if (availability.Length > 0)
                        {
                            ParseAmount(availability, "availability amount", signed: true);
                        }
                    }
                    return null;
                case "D":
                    var countText = Next("number of distributions");
                    var count = countText.Length == 0 ? 0 : (int)ParseAmount(countText, "number of distributions", signed: false);
                    // bounded by the record itself: each distribution is two fields that must be there
                    for (var i = 0; i < count; i++)
                    {
                        Next("availability days");
                        ParseAmount(Next("availability amount"), "availability amount", signed: true);
                    }
                    return null;
                default:
                    throw new StatementFormatException($"unknown funds type '{fundsType}' (BAI2 has 0, 1, 2, S, V, D, Z)", _record.Line, field: "funds type");
            }
        }

        public long Amount(string field)
        {
            var text = Next(field);
            return text.Length == 0
                ? throw new StatementFormatException("missing", _record.Line, field: field)
                : ParseAmount(text, field, signed: true);
        }

        public long Count(string field)
        {
            var text = Next(field);
            return text.Length == 0
                ? throw new StatementFormatException("missing", _record.Line, field: field)
                : ParseAmount(text, field, signed: false);
        }

        public long ParseAmount(string text, string field, bool signed)
        {
            var s = text.Trim();
            var negative = false;
            if (s.Length > 0 && (s[0] == '+' || s[0] == '-'))
            {
                if (!signed && s[0] == '-')
                {
                    throw new StatementFormatException($"'{text}' must not be negative", _record.Line, field: field);
                }
                negative = s[0] == '-';
                s = s[1..];
            }
            if (s.Length == 0 || !s.All(char.IsAsciiDigit))
            {
                throw new StatementFormatException($"'{text}' is not a whole number (BAI2 amounts carry implied decimals, no point)", _record.Line, field: field);
            }
            if (!long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                throw new StatementFormatException($"'{text}' is too large", _record.Line, field: field);
            }
            return negative ? -value : value;
        }

        public static DateOnly? ParseDate(string text, int line, string field)
        {
            var s = text.Trim();
            if (s.Length == 0)
            {
                return null;
            }
            if (s.Length != 6 || !s.All(char.IsAsciiDigit))
            {
                throw new StatementFormatException($"'{text}' is not a YYMMDD date", line, field: field);
            }
            var yy = int.Parse(s[..2], CultureInfo.InvariantCulture);
            var year = yy < 70 ? 2000 + yy : 1900 + yy; // BAI2 predates 2000 and writes two-digit years
            var month = int.Parse(s[2..4], CultureInfo.InvariantCulture);
            var day = int.Parse(s[4..], CultureInfo.InvariantCulture);
            if (month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month))
            {
                throw new StatementFormatException($"'{text}' is not a valid date", line, field: field);
            }
            return new DateOnly(year, month, day);
        }
    }
}
