using Recon.Bench.Cost;
using Recon.Bench.Spike;
using Recon.Worker.Hosting;

namespace Recon.Tests.Bench;

/// <summary>The worker's storage operation names (<c>/api/metrics/durable</c>) map to priced REST operations, or fail by name.</summary>
public sealed class DurableOperationNamesTests
{
    private static readonly AzurePriceBook Prices = AzurePriceBook.LoadDefault();

    /// <summary>Requests the Durable backend and Recon's queue clients make (Azurite path-style addresses).</summary>
    public static TheoryData<string, string, string> Requests => new()
    {
        { "queue", "POST", "http://127.0.0.1:10001/devstoreaccount1/q/messages" },
        { "queue", "GET", "http://127.0.0.1:10001/devstoreaccount1/q/messages?numofmessages=32&visibilitytimeout=30" },
        { "queue", "GET", "http://127.0.0.1:10001/devstoreaccount1/q/messages?peekonly=true" },
        { "queue", "PUT", "http://127.0.0.1:10001/devstoreaccount1/q/messages/id?popreceipt=p&visibilitytimeout=1" },
        { "queue", "DELETE", "http://127.0.0.1:10001/devstoreaccount1/q/messages/id?popreceipt=p" },
        { "queue", "PUT", "http://127.0.0.1:10001/devstoreaccount1/q" },
        { "queue", "GET", "http://127.0.0.1:10001/devstoreaccount1/q?comp=metadata" },
        { "queue", "PUT", "http://127.0.0.1:10001/devstoreaccount1/q?comp=metadata" },
        { "queue", "GET", "http://127.0.0.1:10001/devstoreaccount1/?comp=list" },
        { "table", "GET", "http://127.0.0.1:10002/devstoreaccount1/hubInstances()?$filter=x" },
        { "table", "GET", "http://127.0.0.1:10002/devstoreaccount1/hubHistory(PartitionKey='a',RowKey='b')" },
        { "table", "POST", "http://127.0.0.1:10002/devstoreaccount1/hubInstances" },
        { "table", "PUT", "http://127.0.0.1:10002/devstoreaccount1/hubInstances(PartitionKey='a',RowKey='')" },
        { "table", "MERGE", "http://127.0.0.1:10002/devstoreaccount1/hubInstances(PartitionKey='a',RowKey='')" },
        { "table", "PATCH", "http://127.0.0.1:10002/devstoreaccount1/hubInstances(PartitionKey='a',RowKey='')" },
        { "table", "DELETE", "http://127.0.0.1:10002/devstoreaccount1/hubInstances(PartitionKey='a',RowKey='')" },
        { "table", "POST", "http://127.0.0.1:10002/devstoreaccount1/$batch" },
        { "table", "POST", "http://127.0.0.1:10002/devstoreaccount1/Tables" },
        { "blob", "GET", "http://127.0.0.1:10000/devstoreaccount1/hub-leases/part-00" },
        { "blob", "PUT", "http://127.0.0.1:10000/devstoreaccount1/hub-leases/part-00" },
        { "blob", "PUT", "http://127.0.0.1:10000/devstoreaccount1/hub-leases/part-00?comp=block&blockid=x" },
        { "blob", "PUT", "http://127.0.0.1:10000/devstoreaccount1/hub-leases/part-00?comp=blocklist" },
        { "blob", "PUT", "http://127.0.0.1:10000/devstoreaccount1/hub-leases/part-00?comp=lease" },
        { "blob", "HEAD", "http://127.0.0.1:10000/devstoreaccount1/hub-leases/part-00" },
        { "blob", "DELETE", "http://127.0.0.1:10000/devstoreaccount1/hub-leases/part-00" },
        { "blob", "GET", "http://127.0.0.1:10000/devstoreaccount1/hub-leases?restype=container&comp=list" },
        { "blob", "PUT", "http://127.0.0.1:10000/devstoreaccount1/hub-leases?restype=container" },
        { "blob", "GET", "http://127.0.0.1:10000/devstoreaccount1/hub-leases/part-00?comp=metadata" },
        { "blob", "PUT", "http://127.0.0.1:10000/devstoreaccount1/hub-leases/part-00?comp=metadata" },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public void EveryOperationTheWorkerCounts_MapsToTheRestOperationsPriceClass(string service, string method, string uri)
    {
        var counted = DurableMetrics.OperationOf(service, method, new Uri(uri));
        var storage = DurableOperationNames.Service(service);
        var mapped = DurableOperationNames.RestName(storage, counted);
        // the mapped name is billed like the request's exact REST operation (coarse names share a class)
        var exact = StorageOperations.Classify(storage, method, new Uri(uri));
        Assert.Equal(Prices.StoragePriceId(storage, exact), Prices.StoragePriceId(storage, mapped));
    }

    [Fact]
    public void EveryMappedName_IsPriced()
    {
        foreach (var (service, operation) in DurableOperationNames.Known)
        {
            Assert.False(string.IsNullOrEmpty(Prices.StoragePriceId(service, DurableOperationNames.RestName(service, operation))));
        }
    }

    [Fact]
    public void AnUnknownOperation_ThrowsNamingIt()
    {
        var e = Assert.Throws<ArgumentException>(() => DurableOperationNames.RestName(StorageService.Blob, "post snapshot"));
        Assert.Contains("blob 'post snapshot'", e.Message, StringComparison.Ordinal);
        var unknownService = Assert.Throws<ArgumentException>(() => DurableOperationNames.ToRest(
            new Dictionary<string, IReadOnlyDictionary<string, long>> { ["file"] = new Dictionary<string, long> { ["read"] = 1 } }));
        Assert.Contains("'file'", unknownService.Message, StringComparison.Ordinal);
        var unclassified = new SpikeRunResult
        {
            Mode = "naive", Description = "", P50BatchSeconds = new(0, 0), P99BatchSeconds = new(0, 0), P99BurstBatchSeconds = new(0, 0),
            QueueOperations = new Dictionary<string, long> { ["PutMessage"] = 3, [QueueCall.OperationOf("PATCH", new Uri("http://127.0.0.1:1/devstoreaccount1/q"))] = 1 },
        };
        var unknownCall = Assert.Throws<ArgumentException>(() => SpikeCost.QueueCalls(unclassified, Prices).ToList());
        Assert.Contains("'unclassified PATCH /devstoreaccount1/q'", unknownCall.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToRest_MergesNamesThatShareAnOperation_ScalesAndDropsZeros()
    {
        var counts = DurableOperationNames.ToRest(new Dictionary<string, IReadOnlyDictionary<string, long>>
        {
            ["queue"] = new Dictionary<string, long> { ["receive"] = 10, ["send"] = 0 },
            ["blob"] = new Dictionary<string, long> { ["get metadata"] = 2, ["head metadata"] = 3 },
        }, times: 2);
        Assert.Equal(
            [new StorageRequestCount(StorageService.Queue, "GetMessages", 20), new StorageRequestCount(StorageService.Blob, "GetBlobMetadata", 10)],
            counts.OrderByDescending(c => c.Service == StorageService.Queue).ToList());
    }
}
