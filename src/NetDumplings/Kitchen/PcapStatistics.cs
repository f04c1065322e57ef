using System.Runtime.InteropServices;
using SharpPcap.LibPcap;

namespace NetDumplings.Kitchen;

/// <summary>
/// Kernel drop counts straight from <c>pcap_stats</c>. SharpPcap reads <c>struct pcap_stat</c> with
/// 64-bit fields on Linux x64, where libpcap's are three 32-bit <c>u_int</c>s, so its drop count is wrong.
/// </summary>
internal static unsafe class PcapStatistics
{
    [StructLayout(LayoutKind.Sequential)]
    private struct PcapStat
    {
        public uint Received;
        public uint Dropped;
        public uint InterfaceDropped;
    }

    private static readonly delegate* unmanaged<IntPtr, PcapStat*, int> s_pcapStats = Load();

    private static delegate* unmanaged<IntPtr, PcapStat*, int> Load()
    {
        foreach (var name in new[] { "libpcap.so.0.8", "libpcap.so.1", "libpcap.so", "libpcap.dylib", "wpcap" })
        {
            if (NativeLibrary.TryLoad(name, out var library) && NativeLibrary.TryGetExport(library, "pcap_stats", out var export))
                return (delegate* unmanaged<IntPtr, PcapStat*, int>)export;
        }
        return null;
    }

    /// <summary>Packets the kernel dropped on this open device, or null when it cannot tell.</summary>
    public static long? Drops(PcapDevice device)
    {
        if (s_pcapStats == null || !device.Opened) return null;
        var handle = device.Handle;
        if (handle is null || handle.IsInvalid || handle.IsClosed) return null;
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            PcapStat stat;
            if (s_pcapStats(handle.DangerousGetHandle(), &stat) != 0) return null;
            return (long)stat.Dropped + stat.InterfaceDropped;
        }
        catch (ObjectDisposedException)
        {
            return null;
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }
}
