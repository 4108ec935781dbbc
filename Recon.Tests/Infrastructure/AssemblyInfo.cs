// Tests that share the local stack keep their own databases, key prefixes and queue names, so they may run in parallel.
[assembly: CollectionBehavior(MaxParallelThreads = 4)]
