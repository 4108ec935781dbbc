using Microsoft.Extensions.Logging;
using Recon.Worker.Hosting;

namespace Recon.Tests.Worker;

public sealed class HeldMessageWatchTests
{
    [Fact]
    public void MessageComingBackTwiceWhileHeld_IsAWedge_ReportedOnce()
    {
        var watch = new HeldMessageWatch();
        watch.Observe("m1", "TimerFired", "b-stripe-1", 3);
        watch.Observe("m2", "TaskCompleted", "b-bank-a-2", 3);
        // each message came back once: held for one visibility timeout, which a slow moment can explain
        Assert.Null(watch.TakeWedged());

        watch.Observe("m1", "TimerFired", "b-stripe-1", 4);
        var held = watch.TakeWedged();
        Assert.Equal(new HeldMessageWatch.Held("b-stripe-1", "TimerFired", "m1", 4, 2), held);
        Assert.Contains("b-stripe-1: TimerFired message m1 came back 2 times", held!.ToString(), StringComparison.Ordinal);
        // taken: the watch starts again from nothing, m2's earlier report included
        Assert.Null(watch.TakeWedged());
        watch.Observe("m2", "TaskCompleted", "b-bank-a-2", 4);
        Assert.Null(watch.TakeWedged());
    }

    [Fact]
    public void StartMessages_AreLeftToTheBackendsOwnDeduplication()
    {
        var watch = new HeldMessageWatch();
        for (var i = 0; i < 5; i++)
        {
            watch.Observe("s1", "ExecutionStarted", "recon-dispatcher", 2 + i);
        }
        Assert.Null(watch.TakeWedged());
    }

    [Fact]
    public void Reset_ForgetsWhatWasSeen()
    {
        var watch = new HeldMessageWatch();
        watch.Observe("m1", "TimerFired", "b-1", 3);
        watch.Reset();
        watch.Observe("m1", "TimerFired", "b-1", 4);
        Assert.Null(watch.TakeWedged());
        watch.Observe("m1", "TimerFired", "b-1", 5);
        Assert.NotNull(watch.TakeWedged());
    }

    [Fact]
    public void ObserveLog_ReadsTheBackendsStructuredDuplicateReport_AndIgnoresOtherEvents()
    {
        var watch = new HeldMessageWatch(redeliveriesToWedge: 1);
        var fields = new Dictionary<string, object?>
        {
            ["Account"] = "devstoreaccount1", ["TaskHub"] = "recon", ["EventType"] = "TaskCompleted", ["TaskEventId"] = 0,
            ["MessageId"] = "m9", ["InstanceId"] = "b-bank-a-9", ["ExecutionId"] = "e", ["PartitionId"] = "p-control-00",
            ["DequeueCount"] = 7L, ["PopReceipt"] = "r",
        };
        watch.ObserveLog(new EventId(139, "DiscardingWorkItem"), fields);
        watch.ObserveLog(new EventId(HeldMessageWatch.DuplicateMessageEventId), "not structured");
        Assert.Null(watch.TakeWedged());

        watch.ObserveLog(new EventId(HeldMessageWatch.DuplicateMessageEventId, "DuplicateMessageDetected"), fields);
        Assert.Equal(new HeldMessageWatch.Held("b-bank-a-9", "TaskCompleted", "m9", 7, 1), watch.TakeWedged());
    }

    [Fact]
    public void ThresholdBelowOne_IsRefused()
        => Assert.Throws<ArgumentOutOfRangeException>(() => new HeldMessageWatch(0));
}
