using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using NetDumplings.Chefs;
using NetDumplings.Packets;

using NetDumplings.PowerShell.Cmdlets;
using NetDumplings.PowerShell.Conversion;

namespace NetDumplings.PowerShell.ScriptChefs;

/// <summary>
/// A chef written as PowerShell scriptblocks (made by New-DumplingChef). It cooks in a runspace of its
/// own, in one long-running pipeline that its inbox streams packets and interval ticks into; the
/// kitchen's thread only queues (never runs script), and what the script outputs is served from the
/// chef's own thread through the kitchen's outlet. The user's scriptblocks are re-made from their text
/// in that runspace, never invoked where they were defined.
/// </summary>
public sealed class ScriptBlockChef : DumplingChef
{
    /// <summary>Packets a chef queues unless told otherwise (about a second of busy traffic).</summary>
    public const int DefaultQueueCapacity = 100_000;

    /// <summary>How long a chef may go on draining its queue once the kitchen is being stopped.</summary>
    public static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(2);

    /// <summary>How long a stopped chef's pipeline may take to end before it is abandoned.</summary>
    public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    private readonly ChefScript _script;
    private readonly PowerShellJsonWriter _json;
    private bool _cutReported;
    private readonly object _gate = new();
    private Runspace? _runspace;
    private System.Management.Automation.PowerShell? _pipeline;
    private IAsyncResult? _invocation;
    private ChefInbox? _inbox;
    private PSDataCollection<PSObject>? _output;
    private CancellationToken _stopping;
    private long _received, _dropped, _errors, _served;
    private volatile bool _endedEarly;

    internal ScriptBlockChef(string name, ChefScript script, bool hasIntervalHandler, string[] modules, int queueCapacity,
        ChefQueuePolicy whenQueueFull = ChefQueuePolicy.Auto, int depth = PowerShellJsonWriter.DefaultDepth)
    {
        _json = new PowerShellJsonWriter(depth);
        WhenQueueFull = whenQueueFull;
        Name = name;
        _script = script;
        HasIntervalHandler = hasIntervalHandler;
        Modules = modules;
        QueueCapacity = queueCapacity;
    }

    public override string Name { get; }

    /// <summary>The chef's own state, as <c>$State</c> in its handlers; read it here once the kitchen has stopped.</summary>
    public Hashtable State { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Modules imported into the chef's runspace.</summary>
    public string[] Modules { get; }

    /// <summary>Packets that may wait for the chef; more are dropped (and counted in <see cref="PacketsDropped"/>).</summary>
    public int QueueCapacity { get; }

    /// <summary>What the kitchen does with a packet when the queue is full: drop it, or wait for room.</summary>
    public ChefQueuePolicy WhenQueueFull { get; }

    public bool HasIntervalHandler { get; }

    /// <summary>Levels of objects and arrays written in a payload; deeper ones are written as their text.</summary>
    public int Depth => _json.Depth;

    /// <summary>The script the chef's pipeline runs (its handlers inlined), for troubleshooting.</summary>
    public string Script => _script.Text;

    public long PacketsReceived => Interlocked.Read(ref _received);

    /// <summary>Packets not handled: the queue was full (and <see cref="WhenQueueFull"/> said drop), or the chef was stopped before it reached them.</summary>
    public override long PacketsDropped => Interlocked.Read(ref _dropped);

    /// <summary>Errors in the handlers (each reported to the kitchen).</summary>
    public long ErrorCount => Interlocked.Read(ref _errors);

    /// <summary>Payloads the handlers output (each served as one dumpling).</summary>
    public long PayloadsServed => Interlocked.Read(ref _served);

    /// <summary>Packets waiting for the chef now.</summary>
    public int QueueLength => _inbox?.Count ?? 0;

    /// <summary>The last error a handler met, or null.</summary>
    public ScriptChefException? LastError { get; private set; }

    public bool IsCooking => _pipeline is not null;

    public override void OnStart(ChefContext context)
    {
        lock (_gate)
        {
            if (_pipeline is not null)
                throw new InvalidOperationException($"Chef '{Name}' is already cooking in a kitchen; make another with New-DumplingChef for a second kitchen.");
            var sessionState = InitialSessionState.CreateDefault2();
            if (Modules.Length > 0) sessionState.ImportPSModule(Modules);
            sessionState.ThrowOnRunspaceOpenError = true;
            var runspace = RunspaceFactory.CreateRunspace(sessionState);
            try
            {
                runspace.Open();
            }
            catch (Exception e)
            {
                runspace.Dispose();
                throw new InvalidOperationException($"Chef '{Name}' could not start its runspace: {e.Message}", e);
            }
            runspace.Name = "NetDumplings chef " + Name;

            var inbox = new ChefInbox(QueueCapacity);
            var variables = runspace.SessionStateProxy;
            foreach (var (name, value) in _script.UsingValues) variables.SetVariable(name, value);
            variables.SetVariable(ChefScript.StateVariable, State);
            variables.SetVariable(ChefScript.InboxVariable, inbox);
            variables.SetVariable(ChefScript.TickTypeVariable, typeof(IntervalTick));
            variables.SetVariable(ChefScript.SinkVariable, new ChefErrorSink(this));

            var pipeline = System.Management.Automation.PowerShell.Create();
            pipeline.Runspace = runspace;
            pipeline.AddScript(_script.Text);
            var output = new PSDataCollection<PSObject>();
            output.DataAdded += OnOutput;
            pipeline.Streams.Error.DataAdded += OnErrorRecord;
            // Nobody reads these streams from a chef; emptied as written so they never grow.
            pipeline.Streams.Warning.DataAdded += (_, _) => pipeline.Streams.Warning.Clear();
            pipeline.Streams.Verbose.DataAdded += (_, _) => pipeline.Streams.Verbose.Clear();
            pipeline.Streams.Debug.DataAdded += (_, _) => pipeline.Streams.Debug.Clear();
            pipeline.Streams.Progress.DataAdded += (_, _) => pipeline.Streams.Progress.Clear();
            pipeline.Streams.Information.DataAdded += (_, _) => pipeline.Streams.Information.Clear();
            pipeline.InvocationStateChanged += OnInvocationStateChanged;

            var input = new PSDataCollection<PSObject>();
            input.Complete();
            _runspace = runspace;
            _inbox = inbox;
            _output = output;
            _pipeline = pipeline;
            _stopping = context.Stopping;
            _endedEarly = false;
            _cutReported = false;
            _invocation = pipeline.BeginInvoke(input, output);
        }
    }

    public override object? OnPacket(ChefPacket packet)
    {
        Interlocked.Increment(ref _received);
        var inbox = _inbox;
        // A kitchen replaying a capture file names the file (a full path) as the packet's source; an
        // interface name is never rooted. A file can wait for the chef; a live capture cannot.
        var wait = WhenQueueFull == ChefQueuePolicy.Wait
            || (WhenQueueFull == ChefQueuePolicy.Auto && packet.Source is { } source && Path.IsPathRooted(source));
        if (inbox is null || !(wait ? inbox.Reserve(_stopping) : inbox.TryReserve()) || !inbox.AddReserved(new DumplingPacket(packet)))
            Interlocked.Increment(ref _dropped);
        return null;   // payloads are served from the chef's own thread
    }

    public override object? OnInterval()
    {
        if (HasIntervalHandler) _inbox?.AddTick();
        return null;
    }

    /// <summary>
    /// Lets the chef handle what is queued, then ends its pipeline. Once the kitchen is being stopped
    /// (Ctrl+C, Stop-Job) the chef gets <see cref="StopGrace"/> more to finish, then is stopped where it
    /// is (a handler stuck in a loop included) and what is still queued is dropped and counted.
    /// </summary>
    public override void OnStop()
    {
        System.Management.Automation.PowerShell? pipeline;
        IAsyncResult? invocation;
        lock (_gate)
        {
            pipeline = _pipeline;
            invocation = _invocation;
            if (pipeline is null || invocation is null) return;
            _inbox!.Complete();
        }
        WaitHandle.WaitAny([invocation.AsyncWaitHandle, _stopping.WaitHandle]);
        if (!invocation.IsCompleted && !invocation.AsyncWaitHandle.WaitOne(StopGrace)) Halt();
        if (!invocation.AsyncWaitHandle.WaitOne(StopTimeout))
        {
            // A chef stuck inside a .NET call cannot be stopped; leave its thread rather than hang the kitchen.
            Report(new ScriptChefException(Name, null, null,
                $"Chef '{Name}' did not stop within {StopTimeout.TotalSeconds:0} s (stuck in a .NET call?); it was abandoned."));
            Forget();
            return;
        }
        try
        {
            pipeline.EndInvoke(invocation);
        }
        catch (PipelineStoppedException)
        {
        }
        catch (Exception e) when (e is RuntimeException or InvalidOperationException)
        {
            if (!_endedEarly) Report(new ScriptChefException(Name, null, (e as IContainsErrorRecord)?.ErrorRecord, $"Chef '{Name}' ended with an error: {e.Message}", e));
        }
        pipeline.Dispose();
        _runspace?.Dispose();
        Forget();
    }

    private void Forget()
    {
        lock (_gate)
        {
            _pipeline = null;
            _invocation = null;
            _runspace = null;
            _output = null;
            // The inbox stays: late packets are dropped and counted.
        }
    }

    // Stops the chef now: queued packets are dropped (counted), a running handler is interrupted.
    private void Halt()
    {
        var inbox = _inbox;
        if (inbox is not null) Interlocked.Add(ref _dropped, inbox.Halt());
        try
        {
            _pipeline?.BeginStop(null, null);
        }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
        {
        }
    }

    // Raised on the chef's pipeline thread, while the item that made this output is Current.
    private void OnOutput(object? sender, DataAddedEventArgs e)
    {
        var output = _output;
        if (output is null) return;
        var driver = _inbox?.Current is IntervalTick ? DumplingDriver.Interval : DumplingDriver.Packet;
        foreach (var item in output.ReadAll())
        {
            try
            {
                if (PowerShellJsonWriter.IsNothing(item)) continue;
                // Copied: the writer's buffer is reused for the next output.
                var payload = new RawJsonPayload(_json.Write(item).ToArray());
                if (_json.CutAt is not null && !_cutReported)
                {
                    // Chefs report through the kitchen's error path only; once a run, as ConvertTo-Json warns once.
                    _cutReported = true;
                    Report(new ScriptChefException(Name, (_inbox?.Current as DumplingPacket)?.Time, null,
                        $"Chef '{Name}' cut a payload (it is still served): {_json.CutWarning("New-DumplingChef -Depth")} Further cuts are not reported."));
                }
                Serve(payload, driver);
                Interlocked.Increment(ref _served);
            }
            catch (Exception error)
            {
                Fail(null, $"its output could not be served: {error.Message}", error);
            }
        }
    }

    private void OnErrorRecord(object? sender, DataAddedEventArgs e)
    {
        if (sender is not PSDataCollection<ErrorRecord> errors) return;
        foreach (var record in errors.ReadAll()) Fail(record, record.Exception?.Message ?? record.ToString(), record.Exception);
    }

    private void OnInvocationStateChanged(object? sender, PSInvocationStateChangedEventArgs e)
    {
        var state = e.InvocationStateInfo.State;
        if (state is PSInvocationState.Running or PSInvocationState.NotStarted or PSInvocationState.Stopping) return;
        if (_inbox is not { } inbox || inbox.ReadToEnd || inbox.Halted) return;
        // The pipeline ended before its input did (a handler called exit): nothing will read the inbox again.
        var reason = e.InvocationStateInfo.Reason?.Message ?? "a handler ended the chef's script (exit?); use return to skip a packet";
        _endedEarly = true;
        Interlocked.Add(ref _dropped, inbox.Halt());
        Report(new ScriptChefException(Name, null, (e.InvocationStateInfo.Reason as IContainsErrorRecord)?.ErrorRecord,
            $"Chef '{Name}' stopped cooking: {reason}", e.InvocationStateInfo.Reason));
    }

    /// <summary>A handler failed on the current item: count it, report it with the chef's name and the packet's time.</summary>
    internal void Fail(ErrorRecord? record, string message, Exception? inner)
    {
        var current = _inbox?.Current;
        var packet = current as DumplingPacket;
        var what = current is IntervalTick ? " in its interval handler" : packet is null ? "" : $" on the packet captured at {packet.Time.UtcDateTime:O}";
        Report(new ScriptChefException(Name, packet?.Time, record, $"Chef '{Name}' failed{what}{Where(record)}: {message.TrimEnd()}", inner));
    }

    /// <summary>
    /// ", at line 12 of ./chef.ps1 (-OnPacket: $x = 1 / $zero)": where in the user's script the error
    /// was raised, mapped back from the generated script the chef runs; empty when not known.
    /// </summary>
    private string Where(ErrorRecord? record)
    {
        if (record?.InvocationInfo is not { ScriptLineNumber: > 0 } info || _script.Locate(info.ScriptLineNumber) is not { } at) return "";
        var code = info.Line?.Trim() ?? "";
        if (code.Length > 60) code = code[..57] + "...";
        return at.File is null
            ? $", at line {at.Line} of its {at.Handler} scriptblock{(code.Length == 0 ? "" : $" ({code})")}"
            : $", at line {at.Line} of {at.File} ({at.Handler}{(code.Length == 0 ? "" : $": {code}")})";
    }

    private void Report(ScriptChefException error)
    {
        Interlocked.Increment(ref _errors);
        LastError = error;
        try
        {
            ReportError(error, error.PacketTime);
        }
        catch (InvalidOperationException)
        {
            // Not in a kitchen (a chef driven by hand): the count and LastError still tell.
        }
    }

    public override string ToString() => $"{Name} (scriptblock chef)";
}

/// <summary>What a scriptblock chef does with a packet that finds its queue full.</summary>
public enum ChefQueuePolicy
{
    /// <summary>Wait for packets from capture files (nothing is lost, the replay slows down); drop live packets.</summary>
    Auto,
    /// <summary>Drop the packet and count it, so the capture never stalls.</summary>
    Drop,
    /// <summary>Make the kitchen wait for room (until the kitchen is stopped).</summary>
    Wait,
}

/// <summary>What a handler's catch block calls (as $__ndSink) to report an error and go on.</summary>
internal sealed class ChefErrorSink(ScriptBlockChef chef)
{
    public void Fail(ErrorRecord record) => chef.Fail(record, record.Exception?.Message ?? record.ToString(), record.Exception);
}

/// <summary>An error in a scriptblock chef: which chef, the packet's capture time, and PowerShell's error record.</summary>
public sealed class ScriptChefException : Exception, IContainsErrorRecord
{
    private readonly ErrorRecord? _record;

    public ScriptChefException(string chefName, DateTimeOffset? packetTime, ErrorRecord? record, string message, Exception? inner = null)
        : base(message, inner ?? record?.Exception)
    {
        ChefName = chefName;
        PacketTime = packetTime;
        _record = record;
    }

    public string ChefName { get; }

    /// <summary>When the packet being handled was captured; null for an interval handler or the chef as a whole.</summary>
    public DateTimeOffset? PacketTime { get; }

    /// <summary>The handler's error record (with its script position), or one made for this error.</summary>
    public ErrorRecord ErrorRecord
    {
        get
        {
            // The message names the chef, the packet and the line in the user's script; the handler's own
            // position would be in the generated script the chef runs, which the user never wrote.
            return new ErrorRecord(this, "ScriptChefFailed", ErrorCategory.OperationStopped, ChefName);
        }
    }

    /// <summary>The script's own error record, when there is one.</summary>
    public ErrorRecord? HandlerErrorRecord => _record;
}
