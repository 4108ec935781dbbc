using System.Globalization;
using System.Text.Json;

namespace Recon.Bench.Cost;

/// <summary>The storage services whose requests Azure bills per operation class.</summary>
public enum StorageService
{
    Queue,
    Table,
    Blob,
}

/// <summary>One list price (or free grant) from the dated price file.</summary>
/// <param name="Id">Stable key the cost model asks for, e.g. <c>redis.managed.balanced_b0</c>.</param>
/// <param name="Unit">What <paramref name="Value"/> is per, e.g. <c>USD per 10,000 operations</c>.</param>
/// <param name="Value">The price in <paramref name="Currency"/>, or the grant's quantity.</param>
/// <param name="AsOf">Date of the price reading the value was taken from.</param>
/// <param name="Confirmed">False when the value was not seen for the file's region (see <paramref name="Reason"/>).</param>
public sealed record AzurePrice(
    string Id,
    string Meter,
    string Unit,
    decimal Value,
    string Region,
    string Currency,
    DateOnly AsOf,
    string SourceUrl,
    bool Confirmed,
    string Reason);

/// <summary>
/// The dated Azure price file (<c>Recon.Bench/Cost/azure-prices-*.json</c>): list prices with region, currency, date and
/// source, and which price class each storage operation is billed under.
/// </summary>
/// <remarks>
/// Prices are <see cref="decimal"/>, not integer minor units like the rest of Recon's money: a list price such as
/// $0.000026 per GB-s is a fraction of a cent, and decimal keeps it exact where double would not.
/// Loading validates everything up front, so a half-edited file fails with the entry and the field named rather than
/// pricing a spike week with a missing source or a unit nobody converted.
/// </remarks>
public sealed class AzurePriceBook
{
    /// <summary>The price file compiled into Recon.Bench (an embedded copy of the JSON next to this class).</summary>
    public const string DefaultFileName = "azure-prices-2026-12.json";

    /// <summary>Storage price id for operations Azure does not bill (blob and container deletes).</summary>
    public const string FreePriceId = "free";

    private readonly Dictionary<string, AzurePrice> _prices;
    private readonly Dictionary<(StorageService, string), string> _storageClasses;

    private AzurePriceBook(
        string origin,
        DateOnly compiled,
        string region,
        decimal hoursPerMonth,
        Dictionary<string, AzurePrice> prices,
        Dictionary<(StorageService, string), string> storageClasses)
    {
        Origin = origin;
        Compiled = compiled;
        Region = region;
        HoursPerMonth = hoursPerMonth;
        _prices = prices;
        _storageClasses = storageClasses;
    }

    /// <summary>Where the prices came from (a path or the embedded file name), for error messages.</summary>
    public string Origin { get; }

    /// <summary>Date the file was compiled.</summary>
    public DateOnly Compiled { get; }

    /// <summary>Azure region every price is for (the bicep parameter files' default).</summary>
    public string Region { get; }

    /// <summary>Hours in a billing month (Azure's calculator uses 730): converts per-month prices and grants to hours.</summary>
    public decimal HoursPerMonth { get; }

    /// <summary>Every price and grant in the file.</summary>
    public IReadOnlyCollection<AzurePrice> Prices => _prices.Values;

    /// <summary>Every (service, operation) the file prices, with its price id (<see cref="FreePriceId"/> for free ones).</summary>
    public IReadOnlyDictionary<(StorageService Service, string Operation), string> StorageOperations
        => _storageClasses.ToDictionary(p => p.Key, p => p.Value);

    /// <summary>Loads the price file compiled into this assembly.</summary>
    public static AzurePriceBook LoadDefault()
    {
        var assembly = typeof(AzurePriceBook).Assembly;
        var name = assembly.GetManifestResourceNames().SingleOrDefault(n => n.EndsWith(DefaultFileName, StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"{DefaultFileName} is not embedded in {assembly.GetName().Name}");
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd(), DefaultFileName);
    }

    /// <summary>Loads a price file from disk (e.g. a newer one passed on the command line).</summary>
    public static AzurePriceBook Load(string path) => Parse(File.ReadAllText(path), path);

    /// <summary>Parses and validates a price file's text; <paramref name="origin"/> names it in errors.</summary>
    /// <exception cref="InvalidDataException">The file is malformed; the message names the entry and field.</exception>
    public static AzurePriceBook Parse(string json, string origin)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{origin}: not valid JSON ({e.Message})", e);
        }

        using (document)
        {
            var root = document.RootElement;
            var compiled = ReadDate(root, "compiled", origin);
            var region = ReadString(root, "region", origin);
            var currency = ReadString(root, "currency", origin);
            var hoursPerMonth = ReadDecimal(root, "hours_per_month", origin);
            if (hoursPerMonth <= 0)
            {
                throw new InvalidDataException($"{origin}: hours_per_month must be positive");
            }

            var prices = new Dictionary<string, AzurePrice>(StringComparer.Ordinal);
            foreach (var entry in ReadArray(root, "prices", origin))
            {
                var price = ReadPrice(entry, origin, region, currency);
                if (!prices.TryAdd(price.Id, price))
                {
                    throw new InvalidDataException($"{origin}: price '{price.Id}' appears twice");
                }
            }

            var classes = new Dictionary<(StorageService, string), string>(StorageKeyComparer.Instance);
            var i = 0;
            foreach (var entry in ReadArray(root, "storage_operations", origin))
            {
                var where = $"{origin}: storage_operations[{i++}]";
                var serviceName = ReadString(entry, "service", where);
                if (!Enum.TryParse<StorageService>(serviceName, ignoreCase: true, out var service))
                {
                    throw new InvalidDataException($"{where}: unknown service '{serviceName}' (queue, table or blob)");
                }

                var priceId = ReadString(entry, "price_id", where);
                if (priceId != FreePriceId)
                {
                    if (!prices.TryGetValue(priceId, out var price))
                    {
                        throw new InvalidDataException($"{where}: price_id '{priceId}' is not in prices");
                    }

                    if (price.Unit != CostUnits.Per10kOperations)
                    {
                        throw new InvalidDataException(
                            $"{where}: price '{priceId}' is in '{price.Unit}', storage classes need '{CostUnits.Per10kOperations}'");
                    }
                }

                ReadString(entry, "source_url", where);
                foreach (var operation in ReadArray(entry, "operations", where))
                {
                    var name = operation.GetString();
                    if (string.IsNullOrWhiteSpace(name))
                    {
                        throw new InvalidDataException($"{where}: an operation name is empty");
                    }

                    if (!classes.TryAdd((service, name), priceId))
                    {
                        throw new InvalidDataException($"{where}: {serviceName} operation '{name}' is priced twice");
                    }
                }
            }

            return new AzurePriceBook(origin, compiled, region, hoursPerMonth, prices, classes);
        }
    }

    /// <summary>The price with this id, checked to be in the unit the caller computes with.</summary>
    /// <exception cref="KeyNotFoundException">No such id in the file.</exception>
    /// <exception cref="InvalidDataException">The price is in another unit (someone edited it without the model).</exception>
    public AzurePrice Get(string id, string expectedUnit)
    {
        if (!_prices.TryGetValue(id, out var price))
        {
            throw new KeyNotFoundException($"{Origin}: no price '{id}'");
        }

        if (price.Unit != expectedUnit)
        {
            throw new InvalidDataException($"{Origin}: price '{id}' is in '{price.Unit}', the cost model computes in '{expectedUnit}'");
        }

        return price;
    }

    /// <summary>
    /// The price id a storage operation is billed under (<see cref="FreePriceId"/> when free). Names are the REST API's
    /// operation names (PutMessage, QueryEntities, LeaseBlob, ...), matched without regard to case.
    /// </summary>
    /// <exception cref="ArgumentException">The file does not price this operation.</exception>
    public string StoragePriceId(StorageService service, string operation)
        => _storageClasses.TryGetValue((service, operation), out var id)
            ? id
            : throw new ArgumentException(
                $"{Origin}: no price class for {service.ToString().ToLowerInvariant()} operation '{operation}'; add it to storage_operations",
                nameof(operation));

    private static AzurePrice ReadPrice(JsonElement entry, string origin, string fileRegion, string fileCurrency)
    {
        var id = entry.TryGetProperty("id", out var idElement) ? idElement.GetString() : null;
        if (string.IsNullOrWhiteSpace(id))
        {
            throw new InvalidDataException($"{origin}: a price has no id");
        }

        var where = $"{origin}: price '{id}'";
        var region = ReadString(entry, "region", where);
        var currency = ReadString(entry, "currency", where);
        if (region != fileRegion)
        {
            throw new InvalidDataException($"{where}: region '{region}' differs from the file's '{fileRegion}'");
        }

        if (currency != "USD" || fileCurrency != "USD")
        {
            throw new InvalidDataException($"{where}: currency must be USD (is '{currency}')");
        }

        var value = ReadDecimal(entry, "value", where);
        if (value < 0)
        {
            throw new InvalidDataException($"{where}: value is negative");
        }

        var source = ReadString(entry, "source_url", where);
        if (!Uri.TryCreate(source, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps)
        {
            throw new InvalidDataException($"{where}: source_url '{source}' is not an https URL");
        }

        var confirmed = entry.TryGetProperty("confirmed", out var c) && c.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? c.GetBoolean()
            : throw new InvalidDataException($"{where}: confirmed must be true or false");
        var reason = entry.TryGetProperty("reason", out var r) ? r.GetString() ?? "" : "";
        if (!confirmed && string.IsNullOrWhiteSpace(reason))
        {
            throw new InvalidDataException($"{where}: unconfirmed, so it needs a reason");
        }

        return new AzurePrice(
            id,
            ReadString(entry, "meter", where),
            ReadString(entry, "unit", where),
            value,
            region,
            currency,
            ReadDate(entry, "as_of", where),
            source,
            confirmed,
            reason);
    }

    private static string ReadString(JsonElement element, string name, string where)
        => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
           && !string.IsNullOrWhiteSpace(value.GetString())
            ? value.GetString()!
            : throw new InvalidDataException($"{where}: '{name}' is missing or empty");

    private static decimal ReadDecimal(JsonElement element, string name, string where)
        => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number
            ? value.GetDecimal()
            : throw new InvalidDataException($"{where}: '{name}' must be a number");

    private static DateOnly ReadDate(JsonElement element, string name, string where)
        => DateOnly.TryParseExact(ReadString(element, name, where), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
            ? date
            : throw new InvalidDataException($"{where}: '{name}' must be a date, yyyy-MM-dd");

    private static JsonElement.ArrayEnumerator ReadArray(JsonElement element, string name, string where)
        => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
            ? value.EnumerateArray()
            : throw new InvalidDataException($"{where}: '{name}' must be an array");

    private sealed class StorageKeyComparer : IEqualityComparer<(StorageService, string)>
    {
        public static readonly StorageKeyComparer Instance = new();

        public bool Equals((StorageService, string) x, (StorageService, string) y)
            => x.Item1 == y.Item1 && StringComparer.OrdinalIgnoreCase.Equals(x.Item2, y.Item2);

        public int GetHashCode((StorageService, string) obj)
            => HashCode.Combine(obj.Item1, StringComparer.OrdinalIgnoreCase.GetHashCode(obj.Item2));
    }
}

/// <summary>The unit strings the cost model computes in; a price file entry must use exactly these.</summary>
public static class CostUnits
{
    public const string PerGbSecond = "USD per GB-s";
    public const string PerMillionExecutions = "USD per million executions";
    public const string GbSecondsPerMonth = "GB-s per month";
    public const string ExecutionsPerMonth = "executions per month";
    public const string Per10kOperations = "USD per 10,000 operations";
    public const string PerGbMonth = "USD per GB-month";
    public const string PerHour = "USD per hour";
    public const string PerNodeHour = "USD per node-hour";
    public const string PerGb = "USD per GB";
    public const string GbPerMonth = "GB per month";
}
