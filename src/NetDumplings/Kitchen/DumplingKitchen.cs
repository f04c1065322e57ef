using NetDumplings.Protocol;
using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using NetDumplings.Chefs;
using NetDumplings.Client;
using NetDumplings.Hub;

namespace NetDumplings.Kitchen;

/// <summary>
/// A kitchen: packet sources feed one bounded queue; one dispatcher thread parses each packet once
/// and hands it to every chef in order, and runs interval pokes that arrive through the same queue,
/// so a chef is never called concurrently with itself. Payloads become dumplings that go to a hub
/// (or to a local consumer through <see cref="Dumplings"/>).
/// </summary>
public sealed partial class DumplingKitchen : IAsyncDisposable
{
    private const int FileQueueCapacity = 64; // batches of up to 64 packets
    private readonly DumplingKitchenOptions _options;
    private readonly List<ChefSlot> _chefs;
    private readonly DumplingSink _sink;
    private readonly Channel<KitchenItem> _queue;
    private readonly Channel<KitchenNotice> _notices;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _dispatcherDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _sourcesDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Stopwatch _clock = new();
    private readonly List<FilePacketSource> _files = [];
    private readonly List<LivePacketSource> _live = [];
    private readonly Intake _intake;
    private Timer? _pokeTimer;
    private int _pokePending;
    private int _started;
    private long _captured, _queueDrops, _processed, _pokes, _made, _noticesDropped;
    private readonly long[] _undecoded = new long[Enum.GetValues<Packets.PacketDecodeStatus>().Length];
    private Task? _completion;

    /// <summary>A kitchen that sends its dumplings to the hub at <paramref name="hub"/>, with a token and TLS trust when <paramref name="security"/> gives them.</summary>
    public DumplingKitchen(DumplingKitchenOptions options, IEnumerable<DumplingChef> chefs, HubAddress hub, HubClientSecurity? security = null)
        : this(options, chefs, sinkFactory: k => new HubDumplingSink(new DumplingSenderOptions
        {
            Hub = hub,
            Security = security ?? HubClientSecurity.None,
            OutboxCapacity = options.OutboxCapacity,
            MaxDumplingBytes = options.MaxDumplingBytes,
            ReconnectBackoff = options.Backoff,
            WaitForHub = true, // a kitchen holds what it makes in its outbox until its hub is there
        }, k.OnHubEvent)) { }

    /// <summary>A kitchen without a hub: read its dumplings from <see cref="Dumplings"/>.</summary>
    public DumplingKitchen(DumplingKitchenOptions options, IEnumerable<DumplingChef> chefs)
        : this(options, chefs, sinkFactory: _ => new LocalDumplingSink(options.OutboxCapacity)) { }

    private DumplingKitchen(DumplingKitchenOptions options, IEnumerable<DumplingChef> chefs, Func<DumplingKitchen, DumplingSink> sinkFactory)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        ArgumentNullException.ThrowIfNull(chefs);
        if (string.IsNullOrWhiteSpace(options.Name))
            throw new KitchenException(KitchenProblem.InvalidOptions, "A kitchen needs a name.", "Name", "Give the kitchen a name, e.g. 'edge1'.");
        if (options.QueueCapacity < 1 || options.OutboxCapacity < 1)
            throw new KitchenException(KitchenProblem.InvalidOptions, "Queue and outbox capacities must be at least 1.", "Capacity");
        _chefs = chefs.Where(c => c is not null).Distinct().Select(c => new ChefSlot(c)).ToList();
        // File replay waits when the queue is full, so a short queue loses nothing and keeps the packets
        // in flight few (a long queue of live byte[] copies makes every gen0 GC promote them).
        var capacity = options.IsLiveCapture ? options.QueueCapacity : Math.Min(options.QueueCapacity, FileQueueCapacity);
        _queue = Channel.CreateBounded<KitchenItem>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        _intake = new Intake(this);
        // A user who reads no notices must not cost the kitchen memory: the oldest go, and are counted.
        _notices = Channel.CreateBounded<KitchenNotice>(new BoundedChannelOptions(1000) { FullMode = BoundedChannelFullMode.DropOldest },
            _ => Interlocked.Increment(ref _noticesDropped));
        _sink = sinkFactory(this);
    }

    public DumplingKitchenOptions Options => _options;

    /// <summary>The interfaces libpcap can capture on here (throws <see cref="KitchenException"/> when libpcap is missing).</summary>
    public static IReadOnlyList<string> InterfaceNames() => LivePacketSource.InterfaceNames();

    /// <summary>The chefs cooking (after <see cref="Start"/>: those whose OnStart succeeded).</summary>
    public IReadOnlyList<DumplingChef> Chefs => _chefs.Select(c => c.Chef).ToList();

    /// <summary>Dumplings made, for a kitchen without a hub; null for a kitchen that sends to a hub.</summary>
    public ChannelReader<Dumpling>? Dumplings => (_sink as LocalDumplingSink)?.Reader;

    /// <summary>Chef errors, hub connection changes and other things worth telling the user.</summary>
    public ChannelReader<KitchenNotice> Notices => _notices.Reader;

    /// <summary>Completes when the kitchen has stopped: after the last file's last packet, or after <see cref="StopAsync"/>.</summary>
    public Task Completion => _completion ?? throw new InvalidOperationException("The kitchen has not started.");

    /// <summary>How far through its capture files the kitchen is (0 to 1); null for live capture.</summary>
    public double? Progress
    {
        get
        {
            if (_files.Count == 0) return null;
            var total = _files.Sum(f => f.TotalBytes);
            var read = _files.Sum(f => Math.Min(Interlocked.Read(ref f.BytesRead), f.TotalBytes));
            return total == 0 ? 1 : Math.Min(1, (double)read / total);
        }
    }

    /// <summary>Opens the sources (throwing <see cref="KitchenException"/> when the kitchen cannot start), starts the chefs and the capture.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0) throw new InvalidOperationException("The kitchen has already started.");
        if (_chefs.Count == 0)
            throw new KitchenException(KitchenProblem.NoValidChef, "The kitchen has no chef to cook.", "Chef",
                "Name at least one chef: a built-in (PacketCountChef, DNSLookupChef, ARPChef, FlowChef, DNSAnswerChef, TLSChef, DHCPChef), a chef class, or a chef from a .cs/.dll file.");
        OpenSources();
        try
        {
            StartChefs();
        }
        catch
        {
            CloseSources();
            throw;
        }
        _clock.Start();
        _sink.Start(Announcement());
        new Thread(DispatchLoop) { IsBackground = true, Name = $"kitchen {_options.Name} chefs" }.Start();
        if (_options.PokeInterval > TimeSpan.Zero)
            _pokeTimer = new Timer(_ => RequestPoke(), null, _options.PokeInterval, _options.PokeInterval);
        if (_files.Count > 0)
            new Thread(ReadFiles) { IsBackground = true, Name = $"kitchen {_options.Name} files" }.Start();
        else
        {
            foreach (var source in _live) source.Start(_intake);
            _sourcesDone.TrySetResult(); // live sources end only when the kitchen stops
        }
        _completion = RunAsync();
    }

    private void OpenSources()
    {
        try
        {
            foreach (var path in _options.Files)
            {
                var file = FilePacketSource.Open(path, _options.Filter);
                _files.Add(file);
                if (file.FilterWarning is { } warning) Notify(new KitchenNotice(KitchenNoticeLevel.Warning, warning));
            }
            if (_options.IsLive)
                foreach (var name in _options.LiveInterfaces.Distinct())
                    _live.Add(LivePacketSource.Open(name, _options));
        }
        catch
        {
            CloseSources();
            throw;
        }
    }

    private void CloseSources()
    {
        foreach (var source in _live) source.Stop();
        foreach (var source in _files) source.Dispose();
    }

    private void StartChefs()
    {
        var context = new ChefContext(_options.Name, _options.PokeInterval.TotalSeconds, _stop.Token);
        foreach (var slot in _chefs.ToList())
        {
            try
            {
                slot.Chef.Attach(_outlet ??= new Outlet(this));
                slot.Chef.OnStart(context);
            }
            catch (Exception e)
            {
                slot.Chef.Attach(null);
                _chefs.Remove(slot);
                Notify(new KitchenNotice(KitchenNoticeLevel.Error, $"Chef '{SafeName(slot.Chef)}' failed to start and will not cook: {e.Message}", SafeName(slot.Chef), e));
            }
        }
        if (_chefs.Count == 0)
            throw new KitchenException(KitchenProblem.NoValidChef, "No chef could start: every chef's OnStart failed.", "Chef",
                "Fix the chefs' OnStart errors (see the errors above).");
    }

    private Outlet? _outlet;

    private KitchenAnnouncement Announcement() => new(_options.Name)
    {
        Interface = _options.AnnouncedInterface,
        Filter = _options.Filter ?? "",
        Chefs = _chefs.Select(slot => slot.Name).ToArray(),
        PokeInterval = _options.PokeInterval.TotalSeconds,
    };

    /// <summary>Why the kitchen stopped before its sources ended: its hub refused it (a wrong port), or null.</summary>
    public Exception? HubFailure { get; private set; }

    private void OnHubEvent(HubClientEventArgs e)
    {
        switch (e.Kind)
        {
            case HubClientEventKind.Disconnected when e.Exception is DumplingHubRefusedException refused:
                // Retrying cannot help; a kitchen that keeps capturing for nobody helps no one either.
                HubFailure = refused;
                Notify(new KitchenNotice(KitchenNoticeLevel.Error, refused.Message, Error: refused));
                _stop.Cancel();
                break;
            case HubClientEventKind.Disconnected or HubClientEventKind.DumplingsLost:
                Notify(new KitchenNotice(KitchenNoticeLevel.Warning, e.Message));
                break;
            case HubClientEventKind.ReconnectFailed:
                Notify(new KitchenNotice(e.Attempt == 1 ? KitchenNoticeLevel.Warning : KitchenNoticeLevel.Verbose,
                    $"{e.Message} Dumplings wait in the outbox."));
                break;
            default:
                Notify(new KitchenNotice(KitchenNoticeLevel.Verbose, e.Message));
                break;
        }
    }

    private void ReadFiles()
    {
        try
        {
            foreach (var file in _files)
            {
                if (_stop.IsCancellationRequested) break;
                string? problem;
                try
                {
                    problem = file.ReadAll(_intake, _options.PaceFiles, CountCaptured, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                if (problem is not null)
                    Notify(new KitchenNotice(KitchenNoticeLevel.Error, problem));
            }
        }
        finally
        {
            _sourcesDone.TrySetResult();
        }
    }

    private async Task RunAsync()
    {
        if (_files.Count > 0)
            await Task.WhenAny(_sourcesDone.Task, Task.Delay(Timeout.Infinite, _stop.Token)).ConfigureAwait(false);
        else
            await Task.Delay(Timeout.Infinite, _stop.Token).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
        var cancelled = _stop.IsCancellationRequested;
        foreach (var source in _live) source.Stop();
        await _sourcesDone.Task.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        _queue.Writer.TryComplete();
        await _dispatcherDone.Task.ConfigureAwait(false);
        _pokeTimer?.Dispose();
        foreach (var source in _files) source.Dispose();
        await _sink.CompleteAsync(_options.DrainTimeout, cancelled).ConfigureAwait(false);
        _clock.Stop();
        _notices.Writer.TryComplete();
    }

    /// <summary>Stops capturing, lets the chefs finish what is queued, delivers the outbox and returns when done.</summary>
    public async Task StopAsync()
    {
        if (_completion is null) return;
        _stop.Cancel();
        await _completion.ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_completion is null) { CloseSources(); return; }
        await StopAsync().ConfigureAwait(false);
    }

    public KitchenStatistics GetStatistics() => new()
    {
        KitchenName = _options.Name,
        Elapsed = _clock.Elapsed,
        PacketsCaptured = Interlocked.Read(ref _captured) + _live.Sum(s => Volatile.Read(ref s.Captured)),
        KernelDrops = _live.Sum(s => s.KernelDrops),
        QueueDrops = Interlocked.Read(ref _queueDrops),
        PacketsProcessed = Interlocked.Read(ref _processed),
        Pokes = Interlocked.Read(ref _pokes),
        DumplingsMade = Interlocked.Read(ref _made),
        DumplingsSent = _sink.Sent,
        DumplingsDropped = _sink.Dropped,
        DumplingsQueued = _sink.Queued,
        NoticesDropped = Interlocked.Read(ref _noticesDropped),
        Undecoded = UndecodedByReason(),
        HubConnected = _sink.Connected,
        HubConnects = _sink.Connects,
        Chefs = _chefs.Select(c => c.Snapshot()).ToList(),
    };

    private Dictionary<string, long> UndecodedByReason()
    {
        var counts = new Dictionary<string, long>();
        for (var i = 1; i < _undecoded.Length; i++)
            if (Volatile.Read(ref _undecoded[i]) is var count and > 0) counts[((Packets.PacketDecodeStatus)i).ToString()] = count;
        return counts;
    }

    private void CountCaptured(long count) => Interlocked.Add(ref _captured, count);

    internal void Notify(KitchenNotice notice) => _notices.Writer.TryWrite(notice);

    private void RequestPoke()
    {
        if (!_queue.Writer.TryWrite(KitchenItem.Poke))
            Volatile.Write(ref _pokePending, 1); // the queue is full, so the dispatcher is busy and will see this
    }

    private static string SafeName(DumplingChef chef)
    {
        try { return chef.Name; } catch { return chef.GetType().Name; }
    }

    private sealed class Intake(DumplingKitchen kitchen) : IPacketIntake
    {
        public void Offer(in KitchenItem item)
        {
            if (!kitchen._queue.Writer.TryWrite(item)) Interlocked.Increment(ref kitchen._queueDrops);
        }

        public void Put(in KitchenItem item, CancellationToken cancellationToken)
        {
            if (kitchen._queue.Writer.TryWrite(item)) return;
            kitchen._queue.Writer.WriteAsync(item, cancellationToken).AsTask().GetAwaiter().GetResult();
        }
    }
}
