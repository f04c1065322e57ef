using System.Runtime.CompilerServices;
using PacketDotNet;
using SharpPcap;
using SharpPcap.LibPcap;

namespace NetDumplings.Kitchen;

/// <summary>
/// One captured packet on its way from a source to the chefs, or a batch of them (file replay hands
/// packets over in batches: one queue operation and one thread wake-up per batch, not per packet);
/// an item from no source is an interval poke.
/// </summary>
internal readonly record struct KitchenItem(ReadOnlyMemory<byte> Data, long TimestampTicks, int OriginalLength, PacketSource? Source,
    KitchenItem[]? Batch = null, int BatchCount = 0)
{
    public static KitchenItem Poke => default;
    public bool IsPoke => Source is null;
}

/// <summary>Where a source hands its packets: the kitchen's bounded queue.</summary>
internal interface IPacketIntake
{
    /// <summary>Live capture: never blocks; a full queue drops the packet and counts it.</summary>
    void Offer(in KitchenItem item);

    /// <summary>File replay: waits for room, so replay never drops.</summary>
    void Put(in KitchenItem item, CancellationToken cancellationToken);
}

internal abstract class PacketSource : IDisposable
{
    public string Name { get; protected init; } = "";
    public LinkLayers LinkType { get; protected set; }
    public abstract void Dispose();

    /// <summary>
    /// The capture time in ticks, to the microsecond (as <c>Seconds</c> and <c>MicroSeconds</c> give it). Read from the
    /// decimal that <see cref="PosixTimeval"/> holds, its integer and scale: its own properties are decimal arithmetic,
    /// two of them per packet, which cost a file replay more than reading the packet.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static long Ticks(PosixTimeval timeval)
    {
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(timeval.Value, bits);
        var scale = (bits[3] >> 16) & 0xFF;
        var integer = (ulong)(uint)bits[1] << 32 | (uint)bits[0];
        if (bits[3] < 0 || bits[2] != 0 || integer > long.MaxValue / 1_000_000 || scale > 18)
            return DateTimeOffset.UnixEpoch.UtcTicks + (long)timeval.Seconds * TimeSpan.TicksPerSecond + (long)timeval.MicroSeconds * 10;
        // integer / 10^scale seconds, as whole microseconds (truncated, as MicroSeconds is).
        var micro = scale <= 6 ? (long)integer * Pow10[6 - scale] : (long)(integer / (ulong)Pow10[scale - 6]);
        return DateTimeOffset.UnixEpoch.UtcTicks + micro * 10;
    }

    private static readonly long[] Pow10 =
    [
        1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000, 10_000_000_000, 100_000_000_000,
        1_000_000_000_000,
    ];

    /// <summary>A link type as people look it up: its name and DLT number.</summary>
    internal static string LinkTypeName(LinkLayers link) =>
        Enum.IsDefined(link) ? $"{link} ({(int)link})" : (int)link == 258 ? "PKTAP (258)" : $"{(int)link}";

    /// <summary>Sets a BPF filter, turning libpcap's complaint into a clear error.</summary>
    protected static void ApplyFilter(PcapDevice device, string? filter, string where)
    {
        if (string.IsNullOrWhiteSpace(filter)) return;
        try
        {
            device.Filter = filter;
        }
        catch (Exception e) when (e is PcapException or ArgumentException)
        {
            throw new KitchenException(KitchenProblem.InvalidFilter,
                $"The capture filter '{filter}' cannot be compiled {where}: {e.Message}", filter,
                "Fix the filter (see 'man pcap-filter' for the syntax, e.g. 'tcp or udp or arp', 'port 53', 'host 10.0.0.1'), " +
                "use one the link type supports, or give an empty filter to read everything.", e);
        }
    }
}

/// <summary>A pcap or pcapng file, read on the kitchen's file thread.</summary>
internal sealed class FilePacketSource : PacketSource
{
    private readonly CaptureFileReaderDevice _device;
    private readonly bool _direct;

    private FilePacketSource(string path, CaptureFileReaderDevice device)
    {
        Name = path;
        Path = path;
        _device = device;
        _direct = NativePcap.CanRead && device.TimestampResolution == TimestampResolution.Microsecond;
        LinkType = device.LinkType;
        TotalBytes = new FileInfo(path).Length;
    }

    public string Path { get; }
    public long TotalBytes { get; }
    /// <summary>Approximate bytes read so far (record headers plus data), for progress.</summary>
    public long BytesRead;

    public static FilePacketSource Open(string path, string? filter)
    {
        if (Directory.Exists(path))
            throw BadFile(path, $"'{path}' is a directory, not a capture file.", null);
        if (!File.Exists(path))
            throw BadFile(path, $"The capture file '{path}' does not exist.", null);
        try
        {
            using (File.OpenRead(path)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw BadFile(path, $"The capture file '{path}' cannot be read: {e.Message}", e);
        }

        CaptureFileReaderDevice device;
        try
        {
            device = new CaptureFileReaderDevice(path);
            device.Open();
        }
        catch (Exception e) when (KitchenException.IsLibpcapMissing(e))
        {
            throw KitchenException.LibpcapMissing(e);
        }
        catch (PcapException e)
        {
            throw BadFile(path, $"'{path}' is not a readable pcap or pcapng capture file: {e.Message}", e);
        }
        string? warning = null;
        try
        {
            ApplyFilter(device, filter, $"on '{path}' (link type {LinkTypeName(device.LinkType)})");
        }
        catch (KitchenException) when (filter == DumplingKitchenOptions.DefaultFilter)
        {
            // The default filter is valid BPF, so only the file's link type can refuse it (802.15.4, PKTAP, DSA tags, ...):
            // a user replaying a file expects its packets, so read them all and say so. A filter the user gave stays an error.
            warning = $"The default filter '{filter}' cannot be used on '{path}' (link type {LinkTypeName(device.LinkType)}); " +
                      "reading every packet of it unfiltered.";
        }
        catch
        {
            device.Close();
            throw;
        }
        return new FilePacketSource(path, device) { FilterWarning = warning };
    }

    /// <summary>Why the file is read unfiltered (the default filter does not fit its link type), or null.</summary>
    public string? FilterWarning { get; private init; }


    private static KitchenException BadFile(string path, string message, Exception? inner) =>
        new(KitchenProblem.BadCaptureFile, message, path,
            "Give the path of a pcap or pcapng file you can read (tcpdump -w and Wireshark write them).", inner);

    /// <summary>Reads every packet into the intake; paced by timestamps when asked. Returns an error message for a file corrupt mid-way.</summary>
    // One call loops over the whole file: fully optimised at once (see DumplingKitchen.DispatchLoop).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public string? ReadAll(IPacketIntake intake, bool pace, Action<long> countPacket, CancellationToken cancellationToken)
    {
        long firstTicks = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        BytesRead = 24;
        var batch = new KitchenItem[BatchSize];
        var count = 0;
        // Packets are copied out of libpcap's buffer into slabs shared by neighbouring packets: one array per ~60
        // packets rather than an array, a RawCapture and its header objects per packet (SharpPcap's GetPacket).
        var slab = new byte[SlabBytes];
        var slabUsed = 0;
        long batchBytes = 0;
        void Flush()
        {
            if (count == 0) return;
            countPacket(count);
            Interlocked.Add(ref BytesRead, batchBytes);
            batchBytes = 0;
            intake.Put(new KitchenItem(default, 0, 0, this, batch, count), cancellationToken);
            batch = new KitchenItem[BatchSize];
            count = 0;
        }
        // libpcap's pcap_t must outlive the reads even when the kitchen closes the device meanwhile.
        var handleHeld = false;
        _device.Handle.DangerousAddRef(ref handleHeld);
        var handle = _device.Handle.DangerousGetHandle();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var status = Next(handle, out var data, out var ticks, out var wireLength);
                if (status == GetPacketStatus.NoRemainingPackets) return null;
                if (status == GetPacketStatus.Error)
                    return $"'{Path}' is corrupt after {BytesRead + batchBytes} bytes: {_device.LastError}";
                if (status != GetPacketStatus.PacketRead) continue;
                if (pace)
                {
                    if (firstTicks == 0) firstTicks = ticks;
                    var due = TimeSpan.FromTicks(ticks - firstTicks) - clock.Elapsed;
                    if (due > TimeSpan.FromMilliseconds(1))
                    {
                        Flush(); // nothing waits in a batch while replay sleeps
                        cancellationToken.WaitHandle.WaitOne(due);
                    }
                }
                if (data.Length > slab.Length - slabUsed)
                {
                    slab = new byte[Math.Max(SlabBytes, data.Length)];
                    slabUsed = 0;
                }
                data.CopyTo(slab.AsSpan(slabUsed));
                var packet = new ReadOnlyMemory<byte>(slab, slabUsed, data.Length);
                slabUsed += data.Length;
                batchBytes += 16 + data.Length;
                batch[count++] = new KitchenItem(packet, ticks, wireLength, this);
                if (count == BatchSize || pace) Flush();
            }
            return null;
        }
        finally
        {
            if (!cancellationToken.IsCancellationRequested) Flush();
            if (handleHeld) _device.Handle.DangerousRelease();
        }
    }

    /// <summary>
    /// The next packet: its bytes (valid until the next call), capture time in ticks and length on the wire. Straight
    /// from libpcap's pcap_next_ex where its header's layout is known (64-bit Linux, microsecond times); else through
    /// SharpPcap, whose GetNextPacket makes a header object and a decimal time per packet (a third of the reader's CPU).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe GetPacketStatus Next(nint handle, out ReadOnlySpan<byte> data, out long ticks, out int wireLength)
    {
        if (_direct)
        {
            nint header, bytes;
            var result = NativePcap.NextEx(handle, &header, &bytes);
            if (result != 1)
            {
                data = default;
                ticks = wireLength = 0;
                return result switch { -2 => GetPacketStatus.NoRemainingPackets, 0 => GetPacketStatus.ReadTimeout, _ => GetPacketStatus.Error };
            }
            // struct pcap_pkthdr on 64-bit Linux: struct timeval (long tv_sec, long tv_usec), bpf_u_int32 caplen, len.
            var pkthdr = (long*)header;
            ticks = DateTimeOffset.UnixEpoch.UtcTicks + pkthdr[0] * TimeSpan.TicksPerSecond + pkthdr[1] * 10;
            var lengths = (uint*)(pkthdr + 2);
            data = new ReadOnlySpan<byte>((void*)bytes, (int)lengths[0]);
            wireLength = (int)lengths[1];
            return GetPacketStatus.PacketRead;
        }
        var status = _device.GetNextPacket(out var capture);
        if (status != GetPacketStatus.PacketRead)
        {
            data = default;
            ticks = wireLength = 0;
            return status;
        }
        data = capture.Data;
        ticks = Ticks(capture.Header.Timeval);
        wireLength = capture.Header is PcapHeader pcapHeader ? (int)pcapHeader.PacketLength : data.Length;
        return status;
    }

    private const int BatchSize = 64;
    // Under the 85,000 bytes where .NET's large objects begin (collected only with the whole heap).
    private const int SlabBytes = 32 * 1024;

    public override void Dispose() => _device.Close();
}

/// <summary>Live capture from one interface (or <c>any</c>) on libpcap's own capture thread.</summary>
internal sealed class LivePacketSource : PacketSource
{
    private readonly LibPcapLiveDevice _device;
    private IPacketIntake? _intake;
    private long _kernelDrops;
    private bool _stopped;

    private LivePacketSource(LibPcapLiveDevice device)
    {
        _device = device;
        Name = device.Name;
    }

    public static IReadOnlyList<string> InterfaceNames()
    {
        try
        {
            return LibPcapLiveDeviceList.New().Select(d => d.Name).ToList();
        }
        catch (Exception e) when (KitchenException.IsLibpcapMissing(e))
        {
            throw KitchenException.LibpcapMissing(e);
        }
    }

    public static LivePacketSource Open(string name, DumplingKitchenOptions options)
    {
        LibPcapLiveDeviceList devices;
        try
        {
            devices = LibPcapLiveDeviceList.New();
        }
        catch (Exception e) when (KitchenException.IsLibpcapMissing(e))
        {
            throw KitchenException.LibpcapMissing(e);
        }
        catch (PcapException e)
        {
            throw Permission(name, e);
        }
        var device = devices.FirstOrDefault(d => string.Equals(d.Name, name, StringComparison.Ordinal));
        if (device is null)
        {
            var names = string.Join(", ", devices.Select(d => d.Name));
            throw new KitchenException(KitchenProblem.UnknownInterface,
                $"There is no network interface '{name}'. Interfaces here: {names}.", name,
                $"Use one of: {names} (or 'any' for all of them).");
        }

        var configuration = new DeviceConfiguration
        {
            Mode = options.Promiscuous && name != "any" ? DeviceModes.Promiscuous : DeviceModes.None,
            Snaplen = options.SnapLength,
            BufferSize = options.CaptureBufferBytes,
            // Not Immediate: with TPACKET_V3 every block is then retired after ~1 ms with a few packets in it,
            // and a 64 MiB ring of 256 KiB blocks (big snap length) holds only ~a quarter of a second.
            // A 10 ms read timeout keeps latency small and lets blocks fill.
            Immediate = false,
            ReadTimeout = 10,
        };
        try
        {
            device.Open(configuration);
        }
        catch (PcapException e)
        {
            var text = e.Message;
            if (text.Contains("permit", StringComparison.OrdinalIgnoreCase) || text.Contains("permission", StringComparison.OrdinalIgnoreCase))
                throw Permission(name, e);
            throw new KitchenException(KitchenProblem.CaptureFailed, $"Cannot capture on '{name}': {text}", name,
                "Check that the interface is up ('ip link') and that libpcap can open it.", e);
        }
        var source = new LivePacketSource(device) { LinkType = device.LinkType };
        try
        {
            ApplyFilter(device, options.Filter, $"on interface '{name}' (link type {LinkTypeName(device.LinkType)})");
        }
        catch
        {
            device.Close();
            throw;
        }
        return source;
    }

    private static KitchenException Permission(string name, Exception e) => new(KitchenProblem.PermissionDenied,
        $"No permission to capture packets on '{name}': {e.Message}", name,
        CaptureAdvice(), e);

    /// <summary>
    /// Advice that works as printed: the capability goes on the file this process runs, named in full.
    /// Under `dotnet pwsh` that file is dotnet itself (which would give every .NET program the capability),
    /// so the advice names pwsh's own launcher next to pwsh.dll, to be run instead.
    /// </summary>
    internal static string CaptureAdvice()
    {
        var exe = Environment.ProcessPath;
        if (exe is null || Path.GetFileNameWithoutExtension(exe).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            var launcher = Path.Combine(AppContext.BaseDirectory, "pwsh");
            return File.Exists(launcher)
                ? $"Run as root, or grant the capability to pwsh's own launcher and run that instead of `dotnet pwsh`: sudo setcap cap_net_raw,cap_net_admin+eip '{launcher}' && '{launcher}'"
                : "Run as root, or grant CAP_NET_RAW and CAP_NET_ADMIN to the pwsh you run (sudo setcap cap_net_raw,cap_net_admin+eip <path of pwsh>), not to dotnet.";
        }
        var real = new FileInfo(exe).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? exe;
        return $"Run as root, or grant the capability: sudo setcap cap_net_raw,cap_net_admin+eip '{real}'";
    }

    /// <summary>Packets this source captured (written by libpcap's capture thread only).</summary>
    public long Captured;

    public void Start(IPacketIntake intake)
    {
        _intake = intake;
        _device.OnPacketArrival += OnPacketArrival;
        _device.StartCapture();
    }

    private void OnPacketArrival(object sender, PacketCapture capture)
    {
        // Copy and hand over: this is libpcap's thread, and it must never wait for the chefs.
        var raw = capture.GetPacket();
        Captured++; // only this capture thread writes it
        _intake!.Offer(new KitchenItem(raw.Data, Ticks(raw.Timeval), raw.PacketLength, this));
    }

    /// <summary>Kernel drops so far (pcap_stats), readable while capturing.</summary>
    public long KernelDrops => _stopped ? _kernelDrops : PcapStatistics.Drops(_device) ?? _kernelDrops;

    /// <summary>Stops capturing, reads the final drop count, and closes: all on the caller's thread, in that order.</summary>
    public void Stop()
    {
        if (_stopped) return;
        try
        {
            if (_device.Started) _device.StopCapture();
        }
        catch (PcapException) { }
        _kernelDrops = PcapStatistics.Drops(_device) ?? 0;
        _stopped = true;
        _device.Close();
    }

    public override void Dispose() => Stop();
}

/// <summary>libpcap's pcap_next_ex, from the libpcap SharpPcap has loaded (the same file on Debian under each name).</summary>
internal static unsafe class NativePcap
{
    public static readonly delegate* unmanaged<nint, nint*, nint*, int> NextEx = Load();

    /// <summary>Whether packets can be read straight from libpcap: its header's layout is known for 64-bit Linux.</summary>
    public static bool CanRead => NextEx != null;

    private static delegate* unmanaged<nint, nint*, nint*, int> Load()
    {
        if (!OperatingSystem.IsLinux() || !Environment.Is64BitProcess) return null;
        foreach (var name in (string[])["libpcap.so.0.8", "libpcap.so.1", "libpcap.so"])
            if (System.Runtime.InteropServices.NativeLibrary.TryLoad(name, out var library)
                && System.Runtime.InteropServices.NativeLibrary.TryGetExport(library, "pcap_next_ex", out var next))
                return (delegate* unmanaged<nint, nint*, nint*, int>)next;
        return null;
    }
}
