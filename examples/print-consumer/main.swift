print("print-consumer")
