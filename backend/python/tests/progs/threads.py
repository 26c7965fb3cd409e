import threading
import time


def work():
    print(threading.current_thread().name, threading.get_native_id(), flush=True)
    time.sleep(0.1)


if __name__ == "__main__":
    threads = [threading.Thread(target=work, name=f"worker-{i}") for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("main", threading.get_native_id())
