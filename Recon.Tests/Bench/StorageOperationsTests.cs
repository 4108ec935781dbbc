using Recon.Bench.Cost;

namespace Recon.Tests.Bench;

/// <summary>Requests as the storage clients send them, named as the price file names them.</summary>
public sealed class StorageOperationsTests
{
    // (service, method, URL, expected operation): Azurite path-style and Azure host-style addresses
    public static TheoryData<StorageService, string, string, string> Requests => new()
    {
        { StorageService.Queue, "POST", "http://127.0.0.1:10001/devstoreaccount1/recon-high/messages", "PutMessage" },
        { StorageService.Queue, "GET", "http://127.0.0.1:10001/devstoreaccount1/recon-high/messages?numofmessages=32&visibilitytimeout=30", "GetMessages" },
        { StorageService.Queue, "GET", "https://acct.queue.core.windows.net/recon-high/messages?peekonly=true", "PeekMessages" },
        { StorageService.Queue, "DELETE", "https://acct.queue.core.windows.net/recon-high/messages/0f1e?popreceipt=AgAAAA%3D%3D", "DeleteMessage" },
        { StorageService.Queue, "PUT", "http://localhost:10001/devstoreaccount1/hub-control-00/messages/0f1e?popreceipt=x&visibilitytimeout=0", "UpdateMessage" },
        { StorageService.Queue, "DELETE", "https://acct.queue.core.windows.net/recon-low/messages", "ClearMessages" },
        { StorageService.Queue, "GET", "https://acct.queue.core.windows.net/recon-low?comp=metadata", "GetQueueMetadata" },
        { StorageService.Queue, "PUT", "https://acct.queue.core.windows.net/recon-low", "CreateQueue" },
        { StorageService.Queue, "GET", "https://acct.queue.core.windows.net/?comp=list&prefix=hub", "ListQueues" },
        { StorageService.Table, "GET", "http://127.0.0.1:10002/devstoreaccount1/HubHistory()?$filter=PartitionKey%20eq%20'x'", "QueryEntities" },
        { StorageService.Table, "GET", "https://acct.table.core.windows.net/HubInstances(PartitionKey='a',RowKey='')", "QueryEntities" },
        { StorageService.Table, "POST", "https://acct.table.core.windows.net/HubHistory", "InsertEntity" },
        { StorageService.Table, "PUT", "https://acct.table.core.windows.net/HubInstances(PartitionKey='a',RowKey='')", "UpdateEntity" },
        { StorageService.Table, "MERGE", "https://acct.table.core.windows.net/HubInstances(PartitionKey='a',RowKey='')", "MergeEntity" },
        { StorageService.Table, "PATCH", "https://acct.table.core.windows.net/HubInstances(PartitionKey='a',RowKey='')", "MergeEntity" },
        { StorageService.Table, "DELETE", "https://acct.table.core.windows.net/HubInstances(PartitionKey='a',RowKey='')", "DeleteEntity" },
        { StorageService.Table, "POST", "https://acct.table.core.windows.net/$batch", "EntityGroupTransaction" },
        { StorageService.Table, "POST", "https://acct.table.core.windows.net/Tables", "CreateTable" },
        { StorageService.Table, "GET", "https://acct.table.core.windows.net/Tables?$filter=TableName%20eq%20'HubHistory'", "QueryTables" },
        { StorageService.Table, "DELETE", "https://acct.table.core.windows.net/Tables('HubHistory')", "DeleteTable" },
        { StorageService.Blob, "PUT", "http://127.0.0.1:10000/devstoreaccount1/hub-leases/default/hub-control-00?comp=lease", "LeaseBlob" },
        { StorageService.Blob, "PUT", "https://acct.blob.core.windows.net/hub-leases/taskhub.json", "PutBlob" },
        { StorageService.Blob, "GET", "https://acct.blob.core.windows.net/hub-leases/taskhub.json", "GetBlob" },
        { StorageService.Blob, "HEAD", "https://acct.blob.core.windows.net/hub-leases/taskhub.json", "GetBlobProperties" },
        { StorageService.Blob, "DELETE", "https://acct.blob.core.windows.net/hub-largemessages/a/b.json.gz", "DeleteBlob" },
        { StorageService.Blob, "PUT", "https://acct.blob.core.windows.net/hub-leases?restype=container", "CreateContainer" },
        { StorageService.Blob, "GET", "https://acct.blob.core.windows.net/hub-leases?restype=container&comp=list&prefix=default", "ListBlobs" },
        { StorageService.Blob, "HEAD", "https://acct.blob.core.windows.net/hub-leases?restype=container", "GetContainerProperties" },
        { StorageService.Blob, "PUT", "https://acct.blob.core.windows.net/pkg/app.zip?comp=block&blockid=AAA", "PutBlock" },
        { StorageService.Blob, "PUT", "https://acct.blob.core.windows.net/pkg/app.zip?comp=blocklist", "PutBlockList" },
        { StorageService.Blob, "GET", "https://acct.blob.core.windows.net/?comp=list", "ListContainers" },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public void Request_IsNamedAsTheRestApiNamesIt(StorageService service, string method, string url, string expected)
        => Assert.Equal(expected, StorageOperations.Classify(service, method, new Uri(url)));

    [Theory]
    [MemberData(nameof(Requests))]
    public void EveryNamedRequest_HasAPriceClassInTheDatedFile(StorageService service, string method, string url, string expected)
    {
        var prices = AzurePriceBook.LoadDefault();

        var id = prices.StoragePriceId(service, StorageOperations.Classify(service, method, new Uri(url)));

        // deletes are free; everything else points at a per-10,000 price
        Assert.True(id == AzurePriceBook.FreePriceId || prices.Get(id, CostUnits.Per10kOperations).Value > 0, $"{expected}: {id}");
    }

    [Theory]
    [InlineData(StorageService.Queue, "PATCH", "https://acct.queue.core.windows.net/recon-high/messages")]
    [InlineData(StorageService.Blob, "POST", "https://acct.blob.core.windows.net/c/b")]
    [InlineData(StorageService.Blob, "PUT", "https://acct.blob.core.windows.net/c")]
    public void RequestTheApiDoesNotDefine_FailsNamingIt(StorageService service, string method, string url)
    {
        var error = Assert.Throws<ArgumentException>(() => StorageOperations.Classify(service, method, new Uri(url)));

        Assert.Contains(method, error.Message, StringComparison.Ordinal);
        Assert.False(StorageOperations.TryClassify(service, method, new Uri(url).AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries), new Uri(url).Query, out _));
    }
}
