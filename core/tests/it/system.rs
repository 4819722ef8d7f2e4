//! The system monitor on the machine the tests run on.

use crate::common;

#[tokio::test]
async fn reports_cpu_memory_os_and_no_error_without_a_gpu() {
    let (_dir, jan) = common::open_temp().await;
    let first = jan.system().info().await.unwrap();
    // Keep a core busy so that the second sample sees load.
    let spin = std::thread::spawn(|| {
        let end = std::time::Instant::now() + std::time::Duration::from_millis(400);
        let mut x = 0u64;
        while std::time::Instant::now() < end {
            x = x.wrapping_add(1);
        }
        x
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let info = jan.system().info().await.unwrap();
    spin.join().unwrap();

    assert!(info.cpu.cores >= 1 && info.cpu.cores == first.cpu.cores);
    assert!(!info.cpu.arch.is_empty());
    assert!((0.0..=100.0).contains(&info.cpu.usage_percent));
    assert!(info.cpu.usage_percent > 0.0, "a busy core shows as usage");
    assert!(info.memory.total_bytes > 256 << 20 && info.memory.used_bytes <= info.memory.total_bytes);
    assert!(!info.os.name.is_empty());
    let has_driver = std::path::Path::new("/proc/driver/nvidia/version").exists();
    if !has_driver {
        assert!(info.gpus.is_empty(), "no NVIDIA driver, no GPUs: {:?}", info.gpus);
    }
    for gpu in &info.gpus {
        assert!(!gpu.name.is_empty() && gpu.vram_total_bytes > 0);
    }
    let json = serde_json::to_value(&info).unwrap();
    assert!(json["cpu"]["usage_percent"].is_number() && json["gpus"].is_array());
}
